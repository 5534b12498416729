import CMalloc

extension Analyze {
    /// `icmm analyze` is one short process that allocates and frees many arrays of a million
    /// values (about 8 MB each). By default glibc maps each such block anew and unmaps it on free,
    /// so every array's pages are faulted in again (67,000 page faults at 1M subjects); kept on
    /// the heap and not trimmed, freed blocks are reused (38,000 faults, ~6% less CPU time).
    /// Peak memory stays the same (about 175 MB at 1M subjects). Not for the server, which keeps
    /// `Allocator.configureAllocator()`'s settings.
    static func configureAllocatorForOneRun() {
        #if os(Linux)
        _ = mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024)
        _ = mallopt(M_TRIM_THRESHOLD, 512 * 1024 * 1024)
        _ = mallopt(M_TOP_PAD, 64 * 1024 * 1024)
        // One arena for every thread, so that these settings (and the freed blocks) serve the
        // second thread of the parallel stages too instead of a fresh arena's new pages.
        _ = mallopt(M_ARENA_MAX, 1)
        #endif
    }
}
