//! The resilient API client (placeholder).
