import CMalloc

/// How the server hands memory back to the system after large requests.
///
/// glibc gives each thread that allocates its own arena (up to 8 per core) and keeps freed memory
/// in it: one 36 MB import took the process from 127 MB to 981 MB and rejected imports in a row
/// reached 4.25 GB, although the memory was free (`malloc_trim(0)` brought it back to 61 MB).
public enum Allocator {
    /// At server start: a few arenas only, and large blocks (request bodies, import buffers)
    /// always in their own mappings, returned to the system the moment they are freed. A fixed
    /// mmap threshold also stops glibc from raising it after the first large free (its default
    /// behaviour, which would put the next 32 MB body on the heap).
    public static func configureAllocator() {
        #if os(Linux)
        _ = mallopt(M_ARENA_MAX, 2)
        _ = mallopt(M_MMAP_THRESHOLD, 256 * 1024)
        _ = mallopt(M_TRIM_THRESHOLD, 4 * 1024 * 1024)
        #endif
    }

    /// After a large request: give the free pages of every arena back to the system.
    public static func returnFreeMemory() {
        #if os(Linux)
        _ = malloc_trim(0)
        #endif
    }

    /// The allocator's figures, every arena together (glibc's `mallinfo2`): bytes handed out and
    /// not yet freed, and bytes freed but kept in the arenas. A leak grows the first; memory the
    /// allocator keeps (fragmentation, untrimmed arenas) the second.
    public struct Statistics: Sendable, Equatable {
        public var inUseBytes: Int
        public var freeBytes: Int
    }

    public static func statistics() -> Statistics {
        #if os(Linux)
        let info = mallinfo2()
        // uordblks: in use in the arenas; hblkhd: in mappings of their own (large blocks).
        return Statistics(inUseBytes: Int(info.uordblks + info.hblkhd), freeBytes: Int(info.fordblks))
        #else
        return Statistics(inUseBytes: 0, freeBytes: 0)
        #endif
    }
}
