//! The queue kinds the command knows: their names, and the one place where a
//! kind read from a header (or named on the command line) becomes a type.
//!
//! Every command that drives a queue (`create`, `send`, `recv`) is written
//! once, generically over [`shmq::Kind`], as a [`ForKind`]; [`with_kind`]
//! runs it for the kind at hand. A new kind of the library is one arm in
//! [`with_kind`] and one name in [`name`]; the tests below fail until both
//! are there.

use crate::Failure;
use shmq::{bytes, dense, mpmc, spsc};
use shmq_core::layout::QueueKind;

/// What the command calls `kind` (in `ls`, `stat` and `create --kind`):
/// the library's own name for it.
pub(crate) fn name(kind: QueueKind) -> &'static str {
    shmq::admin::kind_name(kind)
}

/// Every kind the core library defines (header kind codes are `1..`,
/// without gaps).
pub(crate) fn all() -> impl Iterator<Item = QueueKind> {
    (1..).map_while(QueueKind::from_code)
}

/// `--kind NAME` for every kind in [`all`] that this command can drive.
pub(crate) fn parser() -> impl clap::builder::TypedValueParser<Value = QueueKind> {
    use clap::builder::TypedValueParser;
    let names: Vec<&'static str> = all().filter(|&k| known(k)).map(name).collect();
    clap::builder::PossibleValuesParser::new(names).map(|s| {
        all()
            .find(|&k| name(k) == s)
            .expect("the parser accepts only names of `all()`")
    })
}

/// An operation written once for every kind.
pub(crate) trait ForKind {
    /// What it returns.
    type Output;
    /// Runs it for the kind `K`.
    fn run<K: shmq::Kind>(self) -> Self::Output;
}

/// Runs `op` for `kind`; an error for a kind this build does not know (a
/// region made by a newer library).
pub(crate) fn with_kind<F: ForKind>(kind: QueueKind, op: F) -> Result<F::Output, Failure> {
    Ok(match kind {
        QueueKind::Spsc => op.run::<spsc::Spsc>(),
        QueueKind::Mpmc => op.run::<mpmc::Mpmc>(),
        QueueKind::Bytes => op.run::<bytes::Bytes>(),
        QueueKind::Dense => op.run::<dense::Dense>(),
        other => return Err(format!("queue kind {other:?} is not supported by this shmq").into()),
    })
}

/// Whether [`with_kind`] has an arm for `kind`.
fn known(kind: QueueKind) -> bool {
    struct Probe;
    impl ForKind for Probe {
        type Output = ();
        fn run<K: shmq::Kind>(self) {}
    }
    with_kind(kind, Probe).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_of_the_library_is_named_and_driven() {
        let kinds: Vec<QueueKind> = all().collect();
        assert!(kinds.len() >= 3, "{kinds:?}");
        for kind in kinds {
            assert_ne!(name(kind), "unknown", "{kind:?} has no name");
            assert!(known(kind), "{kind:?} has no arm in with_kind");
        }
    }

    #[test]
    fn the_parser_maps_names_back_to_kinds() {
        use clap::builder::TypedValueParser;
        let cmd = clap::Command::new("t");
        for kind in all() {
            let parsed = parser()
                .parse_ref(&cmd, None, std::ffi::OsStr::new(name(kind)))
                .unwrap();
            assert_eq!(parsed, kind);
        }
        assert!(parser()
            .parse_ref(&cmd, None, std::ffi::OsStr::new("unknown"))
            .is_err());
    }
}
