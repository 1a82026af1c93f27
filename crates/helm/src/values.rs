//! Values: being written.
