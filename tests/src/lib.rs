//! Test support for the end-to-end tests of `cback`: paths to shared reference data and the
//! throwaway PostgreSQL cluster harness.
