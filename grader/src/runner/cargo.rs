//! cargo
