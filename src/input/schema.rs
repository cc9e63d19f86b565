//! Header parsing: which column is which (placeholder).
