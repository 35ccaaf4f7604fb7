//! Named shared-memory queues between processes (platform crate; work in progress).
