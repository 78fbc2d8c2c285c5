//! The migration repository: folder, `migrate.cfg`, numbered up/down scripts, checksums.
