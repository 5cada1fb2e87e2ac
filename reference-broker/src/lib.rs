//! The reference broker (built in its own issue).
