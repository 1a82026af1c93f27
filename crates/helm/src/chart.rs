//! Charts: being written.
