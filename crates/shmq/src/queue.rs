//! The handle to a named queue of any kind, and the options to create or
//! open one.

use crate::endpoint::{Receiver, Sender};
use crate::error::Error;
use crate::kind::private::Fields;
use crate::kind::Kind;
use crate::os;
use crate::region::Mapping;
use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

/// Default bound for [`Queue::open`] to wait for a creator to finish
/// initialising the region it created.
pub const DEFAULT_READY_TIMEOUT: Duration = Duration::from_secs(1);

/// Options for creating or opening a [`Queue`] of kind `K`.
///
/// ```
/// # let name = format!("shmq-doc-builder-{}", std::process::id());
/// use std::time::Duration;
/// use shmq::spsc::Queue;
/// let q = Queue::builder(&name).capacity(256).slot_size(32).create()?;
/// let same = Queue::builder(&name)
///     .ready_timeout(Duration::from_millis(100))
///     .open()?;
/// assert_eq!((same.capacity(), same.slot_size()), (256, 32));
/// # Ok::<(), shmq::Error>(())
/// ```
pub struct Builder<K: Kind> {
    kind: PhantomData<K>,
    name: String,
    config: K::Config,
    persist: bool,
    ready_timeout: Duration,
}

impl<K: Kind> Clone for Builder<K> {
    fn clone(&self) -> Self {
        Builder {
            kind: PhantomData,
            name: self.name.clone(),
            config: self.config,
            persist: self.persist,
            ready_timeout: self.ready_timeout,
        }
    }
}

impl<K: Kind> fmt::Debug for Builder<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("name", &self.name)
            .field("config", &self.config)
            .field("persist", &self.persist)
            .field("ready_timeout", &self.ready_timeout)
            .finish()
    }
}

impl<K: Kind> Builder<K> {
    /// Options for the queue called `name`, with the kind's default
    /// configuration.
    ///
    /// ```
    /// let b = shmq::mpmc::Builder::new("jobs").max_endpoints(64);
    /// ```
    pub fn new(name: &str) -> Self {
        Builder {
            kind: PhantomData,
            name: name.to_owned(),
            config: K::Config::default(),
            persist: false,
            ready_timeout: DEFAULT_READY_TIMEOUT,
        }
    }

    /// The configuration so far.
    pub(crate) fn config_ref(&self) -> K::Config {
        self.config
    }

    /// Sets the whole geometry.
    ///
    /// ```
    /// use shmq::spsc::{Builder, Config};
    /// let b = Builder::new("ticks").config(Config { capacity: 64, slot_size: 8 });
    /// ```
    pub fn config(mut self, config: K::Config) -> Self {
        self.config = config;
        self
    }

    /// Sets the number of slots (a power of two; see the kind's `Config`).
    ///
    /// ```
    /// let b = shmq::spsc::Builder::new("ticks").capacity(4096);
    /// ```
    pub fn capacity(mut self, capacity: u32) -> Self {
        *self.config.capacity_mut() = capacity;
        self
    }

    /// Sets the largest message size in bytes.
    ///
    /// ```
    /// let b = shmq::mpmc::Builder::new("jobs").slot_size(256);
    /// ```
    pub fn slot_size(mut self, slot_size: u32) -> Self {
        *self.config.slot_size_mut() = slot_size;
        self
    }

    /// Whether the created region outlives its creator's handles. By default
    /// the name is removed when the creator's queue handle and all endpoints
    /// taken from it are dropped (processes that opened it keep their
    /// mapping); with `true` it stays until [`Queue::remove`] (or a reboot).
    ///
    /// ```
    /// # let name = format!("shmq-doc-persist-{}", std::process::id());
    /// use shmq::spsc::Queue;
    /// drop(Queue::builder(&name).persist(true).create()?);
    /// let q = Queue::open(&name)?; // still there
    /// Queue::remove(&name)?;
    /// # Ok::<(), shmq::Error>(())
    /// ```
    pub fn persist(mut self, persist: bool) -> Self {
        self.persist = persist;
        self
    }

    /// How long [`Builder::open`] waits for a creator that has created the
    /// file but not yet initialised it (default [`DEFAULT_READY_TIMEOUT`]).
    ///
    /// ```
    /// use std::time::Duration;
    /// let b = shmq::spsc::Builder::new("ticks").ready_timeout(Duration::from_millis(50));
    /// ```
    pub fn ready_timeout(mut self, timeout: Duration) -> Self {
        self.ready_timeout = timeout;
        self
    }

    /// Creates the queue: `/dev/shm/<name>`, exclusively, mode 0600.
    ///
    /// # Errors
    /// [`Error::InvalidName`]; [`Error::Layout`] for an invalid geometry;
    /// [`Error::Io`] (`AlreadyExists` if the name is taken).
    ///
    /// ```
    /// # let name = format!("shmq-doc-create-{}", std::process::id());
    /// let q = shmq::mpmc::Queue::builder(&name).capacity(64).create()?;
    /// assert_eq!(q.capacity(), 64);
    /// # Ok::<(), shmq::Error>(())
    /// ```
    pub fn create(self) -> Result<Queue<K>, Error> {
        os::validate_name(&self.name)?;
        let geometry = K::geometry(&self.config)?;
        let mapping = Mapping::create(&self.name, geometry, self.persist)?;
        Ok(Queue {
            mapping,
            kind: PhantomData,
        })
    }

    /// Opens the existing queue and validates its header (including that it
    /// is a queue of kind `K`).
    ///
    /// # Errors
    /// [`Error::InvalidName`]; [`Error::Io`] (`NotFound` if there is no such
    /// queue); [`Error::NotRegularFile`], [`Error::Permissions`];
    /// [`Error::NotReady`] if it is not initialised within the ready timeout;
    /// [`Error::Busy`] if the file stayed leased by another process (opening
    /// never blocks on it) for the ready timeout;
    /// [`Error::Layout`] naming the first invalid header field (`Kind` for a
    /// queue of another kind).
    ///
    /// ```
    /// # let name = format!("shmq-doc-open-{}", std::process::id());
    /// # let _q = shmq::spsc::Queue::create(&name, Default::default())?;
    /// let q = shmq::spsc::Builder::new(&name).open()?;
    /// assert!(shmq::mpmc::Builder::new(&name).open().is_err()); // another kind
    /// # Ok::<(), shmq::Error>(())
    /// ```
    pub fn open(self) -> Result<Queue<K>, Error> {
        let mapping = Mapping::open_kind(&self.name, self.ready_timeout, K::KIND)?;
        Ok(Queue {
            mapping,
            kind: PhantomData,
        })
    }

    /// Opens the queue if it exists, creates it otherwise. Two processes
    /// racing here both end up with the same queue: one creates it, the
    /// other opens it (waiting up to the ready timeout for the creator).
    ///
    /// An existing queue keeps its own geometry: check
    /// [`Queue::capacity`]/[`Queue::slot_size`] if it matters. Only the
    /// creator's handle removes the name on drop (unless persisted).
    ///
    /// # Errors
    /// As [`Builder::create`] and [`Builder::open`].
    ///
    /// ```
    /// # let name = format!("shmq-doc-ooc-{}", std::process::id());
    /// use shmq::spsc::Queue;
    /// let first = Queue::builder(&name).capacity(8).open_or_create()?;   // creates
    /// let second = Queue::builder(&name).capacity(16).open_or_create()?; // opens
    /// assert_eq!(second.capacity(), 8);
    /// # Ok::<(), shmq::Error>(())
    /// ```
    pub fn open_or_create(self) -> Result<Queue<K>, Error> {
        // Bounded: each failed round means another process created or
        // removed the name in between; a handful of rounds is plenty.
        let mut last = None;
        for _ in 0..8 {
            match self.clone().create() {
                Err(Error::Io(e)) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                other => return other,
            }
            match self.clone().open() {
                Err(Error::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => {
                    last = Some(Error::Io(e));
                }
                other => return other,
            }
        }
        Err(last.unwrap_or_else(|| Error::Io(std::io::ErrorKind::NotFound.into())))
    }
}

/// A handle to a named queue of kind `K` ([`crate::spsc::Queue`],
/// [`crate::mpmc::Queue`]); endpoints are taken from it.
///
/// The handle holds no role. Cloning it shares the mapping. Dropping it does
/// not affect endpoints taken from it; the creator's region name is removed
/// when its handles and all endpoints taken from them are gone (unless
/// [`Builder::persist`]).
pub struct Queue<K: Kind> {
    mapping: Arc<Mapping>,
    kind: PhantomData<K>,
}

impl<K: Kind> Clone for Queue<K> {
    fn clone(&self) -> Self {
        Queue {
            mapping: Arc::clone(&self.mapping),
            kind: PhantomData,
        }
    }
}

impl<K: Kind> fmt::Debug for Queue<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Queue")
            .field("name", &self.name())
            .field("kind", &K::KIND)
            .field("capacity", &self.capacity())
            .field("slot_size", &self.slot_size())
            .finish()
    }
}

impl<K: Kind> Queue<K> {
    /// Creates the queue `name` with `config` (see [`Builder::create`]).
    ///
    /// # Errors
    /// As [`Builder::create`].
    ///
    /// ```
    /// # let name = format!("shmq-doc-qcreate-{}", std::process::id());
    /// use shmq::spsc::{Config, Queue};
    /// let q = Queue::create(&name, Config { capacity: 1024, slot_size: 64 })?;
    /// # Ok::<(), shmq::Error>(())
    /// ```
    pub fn create(name: &str, config: K::Config) -> Result<Self, Error> {
        Builder::new(name).config(config).create()
    }

    /// Opens the existing queue `name` (see [`Builder::open`]).
    ///
    /// # Errors
    /// As [`Builder::open`].
    ///
    /// ```
    /// # let name = format!("shmq-doc-qopen-{}", std::process::id());
    /// # let _creator = shmq::mpmc::Queue::create(&name, Default::default())?;
    /// let q = shmq::mpmc::Queue::open(&name)?;
    /// # Ok::<(), shmq::Error>(())
    /// ```
    pub fn open(name: &str) -> Result<Self, Error> {
        Builder::new(name).open()
    }

    /// Opens the queue `name`, or creates it with `config` (see
    /// [`Builder::open_or_create`]).
    ///
    /// # Errors
    /// As [`Builder::open_or_create`].
    ///
    /// ```
    /// # let name = format!("shmq-doc-qooc-{}", std::process::id());
    /// let q = shmq::mpmc::Queue::open_or_create(&name, Default::default())?;
    /// # Ok::<(), shmq::Error>(())
    /// ```
    pub fn open_or_create(name: &str, config: K::Config) -> Result<Self, Error> {
        Builder::new(name).config(config).open_or_create()
    }

    /// Options for creating or opening the queue `name`.
    ///
    /// ```
    /// # let name = format!("shmq-doc-qbuilder-{}", std::process::id());
    /// let q = shmq::spsc::Queue::builder(&name).capacity(16).create()?;
    /// # Ok::<(), shmq::Error>(())
    /// ```
    pub fn builder(name: &str) -> Builder<K> {
        Builder::new(name)
    }

    /// Removes the queue `name` from `/dev/shm`. Processes that have it open
    /// keep using their mapping; the name can be created anew.
    ///
    /// # Errors
    /// [`Error::InvalidName`]; [`Error::Io`] (`NotFound` if there is no such
    /// queue).
    ///
    /// ```
    /// # let name = format!("shmq-doc-remove-{}", std::process::id());
    /// use shmq::spsc::Queue;
    /// let q = Queue::builder(&name).persist(true).create()?;
    /// Queue::remove(&name)?;
    /// assert!(Queue::open(&name).is_err());
    /// # Ok::<(), shmq::Error>(())
    /// ```
    pub fn remove(name: &str) -> Result<(), Error> {
        os::validate_name(name)?;
        Ok(os::unlink(name)?)
    }

    /// Takes a sending endpoint: the producer role (SPSC: at most one at a
    /// time, across all processes) or a free endpoint-table entry (MPMC).
    ///
    /// # Errors
    /// [`Error::RoleTaken`] if a live SPSC sender exists (in any process, or
    /// through this handle); [`Error::TableFull`] if every MPMC entry is
    /// taken; [`Error::Violation`] if the ring's state is impossible;
    /// [`Error::Io`].
    ///
    /// ```
    /// # let name = format!("shmq-doc-sender-{}", std::process::id());
    /// let q = shmq::spsc::Queue::create(&name, Default::default())?;
    /// let tx = q.sender()?;
    /// assert!(matches!(q.sender(), Err(shmq::Error::RoleTaken(shmq::Role::Sender))));
    /// # Ok::<(), shmq::Error>(())
    /// ```
    pub fn sender(&self) -> Result<Sender<K>, Error> {
        let (core, guard) = K::attach_sender(&self.mapping)?;
        Ok(Sender::new(core, guard))
    }

    /// Takes a receiving endpoint (as [`Queue::sender`], for the consumer
    /// role or an MPMC entry).
    ///
    /// # Errors
    /// As [`Queue::sender`].
    ///
    /// ```
    /// # let name = format!("shmq-doc-receiver-{}", std::process::id());
    /// let q = shmq::mpmc::Queue::create(&name, Default::default())?;
    /// let (a, b) = (q.receiver()?, q.receiver()?); // MPMC: several receivers
    /// # Ok::<(), shmq::Error>(())
    /// ```
    pub fn receiver(&self) -> Result<Receiver<K>, Error> {
        let (core, guard) = K::attach_receiver(&self.mapping)?;
        Ok(Receiver::new(core, guard))
    }

    /// A snapshot of the queue's counters (informative: peers write them).
    ///
    /// ```
    /// # let name = format!("shmq-doc-stats-{}", std::process::id());
    /// let q = shmq::spsc::Queue::create(&name, Default::default())?;
    /// q.sender()?.try_send(b"x").unwrap();
    /// assert_eq!(q.stats().enqueued, 1);
    /// # Ok::<(), shmq::Error>(())
    /// ```
    pub fn stats(&self) -> K::Stats {
        K::stats(&self.mapping.region())
    }

    /// The queue's name (empty for an anonymous region, see
    /// [`Queue::create_anonymous`]).
    ///
    /// ```
    /// # let name = format!("shmq-doc-name-{}", std::process::id());
    /// let q = shmq::spsc::Queue::create(&name, Default::default())?;
    /// assert_eq!(q.name(), name);
    /// # Ok::<(), shmq::Error>(())
    /// ```
    pub fn name(&self) -> &str {
        self.mapping.name()
    }

    /// Number of slots.
    ///
    /// ```
    /// # let name = format!("shmq-doc-cap-{}", std::process::id());
    /// let q = shmq::spsc::Queue::builder(&name).capacity(32).create()?;
    /// assert_eq!(q.capacity(), 32);
    /// # Ok::<(), shmq::Error>(())
    /// ```
    pub fn capacity(&self) -> usize {
        self.mapping.geometry().capacity() as usize
    }

    /// Largest message, in bytes.
    ///
    /// ```
    /// # let name = format!("shmq-doc-slot-{}", std::process::id());
    /// let q = shmq::spsc::Queue::builder(&name).slot_size(100).create()?;
    /// assert_eq!(q.slot_size(), 100);
    /// # Ok::<(), shmq::Error>(())
    /// ```
    pub fn slot_size(&self) -> usize {
        self.mapping.geometry().slot_size() as usize
    }

    /// Messages queued now: a snapshot (other processes send and receive
    /// meanwhile), clamped to `0..=capacity()`. MPMC counts positions
    /// claimed by senders that are still writing them.
    ///
    /// ```
    /// # let name = format!("shmq-doc-len-{}", std::process::id());
    /// let q = shmq::spsc::Queue::create(&name, Default::default())?;
    /// let mut tx = q.sender()?;
    /// tx.try_send(b"a").unwrap();
    /// tx.try_send(b"b").unwrap();
    /// assert_eq!(q.len(), 2);
    /// # Ok::<(), shmq::Error>(())
    /// ```
    pub fn len(&self) -> usize {
        K::len(&self.mapping.region())
    }

    /// Whether no message is queued (a snapshot, as [`Queue::len`]).
    ///
    /// ```
    /// # let name = format!("shmq-doc-empty-{}", std::process::id());
    /// let q = shmq::spsc::Queue::create(&name, Default::default())?;
    /// assert!(q.is_empty());
    /// # Ok::<(), shmq::Error>(())
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether every slot is taken (a snapshot, as [`Queue::len`]).
    ///
    /// ```
    /// # let name = format!("shmq-doc-full-{}", std::process::id());
    /// let q = shmq::spsc::Queue::builder(&name).capacity(2).create()?;
    /// let mut tx = q.sender()?;
    /// while tx.try_send(b"x").is_ok() {}
    /// assert!(q.is_full());
    /// # Ok::<(), shmq::Error>(())
    /// ```
    pub fn is_full(&self) -> bool {
        self.len() >= self.capacity()
    }

    /// Whether a live sender is attached now (any process; one lock check
    /// per role or table entry: a snapshot).
    ///
    /// ```
    /// # let name = format!("shmq-doc-hassender-{}", std::process::id());
    /// let q = shmq::spsc::Queue::create(&name, Default::default())?;
    /// assert!(!q.has_sender());
    /// let tx = q.sender()?;
    /// assert!(q.has_sender());
    /// # Ok::<(), shmq::Error>(())
    /// ```
    pub fn has_sender(&self) -> bool {
        K::alive(&self.mapping, true)
    }

    /// Whether a live receiver is attached now (as [`Queue::has_sender`]).
    ///
    /// ```
    /// # let name = format!("shmq-doc-hasreceiver-{}", std::process::id());
    /// let q = shmq::mpmc::Queue::create(&name, Default::default())?;
    /// let rx = q.receiver()?;
    /// assert!(q.has_receiver());
    /// drop(rx);
    /// assert!(!q.has_receiver());
    /// # Ok::<(), shmq::Error>(())
    /// ```
    pub fn has_receiver(&self) -> bool {
        K::alive(&self.mapping, false)
    }

    /// A handle over `mapping`, whose header was validated for kind `K`.
    pub(crate) fn from_mapping(mapping: Arc<Mapping>) -> Self {
        Queue {
            mapping,
            kind: PhantomData,
        }
    }

    /// The mapping (kind-specific methods use it).
    pub(crate) fn mapping(&self) -> &Arc<Mapping> {
        &self.mapping
    }
}
