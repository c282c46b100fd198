using System.Buffers.Binary;
using System.Buffers.Text;
using System.Runtime.InteropServices;

namespace Herald.Proxy.Memory;

/// <summary>
/// Gives back what starting up used and serving does not: the garbage of config parsing, and
/// the pages of code and data that only startup touched (YAML and protobuf readers, the xDS
/// translator, the runtime's own start). An idle sidecar's RSS is then what it holds to serve.
/// </summary>
internal static partial class StartupMemory
{
    /// <summary>Set to <c>0</c> to keep the startup garbage collection from running.</summary>
    public const string CollectVariable = "HERALD_STARTUP_GC";

    /// <summary>Set to <c>0</c> to keep startup's file pages resident.</summary>
    public const string PageOutVariable = "HERALD_STARTUP_PAGEOUT";

    // MADV_PAGEOUT (Linux 5.4): reclaim the range's pages now. Clean file pages are freed, not
    // only unmapped; pages this process does not map alone, and anonymous pages without swap,
    // are left where they are.
    private const int AdvicePageOut = 21;
    private const int AdviceDontNeed = 4;
    private const int PageMapEntry = 8;
    private const ulong PagePresent = 1UL << 63;
    private const ulong PageFileOrShared = 1UL << 61;

    // A path is at most 4096 bytes; the rest of a header line is under 100.
    private const int MaxLine = 8192;

    /// <summary>
    /// Startup leaves tens of MB of garbage (YAML and JSON trees, the protobuf descriptors'
    /// temporaries) in a gen0 sized from the L3 cache, never collected while idle. One
    /// compacting collection that returns the freed memory to the OS, before /ready.
    /// </summary>
    public static void CollectStartupGarbage()
    {
        if (Environment.GetEnvironmentVariable(CollectVariable) == "0")
        {
            return;
        }

        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
    }

    /// <summary>
    /// How long after ready the pages stay. Tiered compilation recompiles a method once it has
    /// been called 30 times, so methods run by once-a-second timers (Kestrel's heartbeat, the
    /// date header) are recompiled within about 30 s, and pages given back before that come
    /// back with the compiler (sidecar bootstrap, as shipped: paged out 3 s after ready, the
    /// idle process was back at 43 MB 13 s later; paged out after 30 s, it stays at 36-38 MB).
    /// </summary>
    public static readonly TimeSpan PageOutDelay = TimeSpan.FromSeconds(30);

    /// <summary>How long the JIT must have compiled nothing before the pages go out.</summary>
    public static readonly TimeSpan SettleInterval = TimeSpan.FromSeconds(1);

    /// <summary>Checks for a quiet compiler before the pages go out all the same.</summary>
    public const int MaxSettleChecks = 30;

    /// <summary>
    /// Waits <see cref="PageOutDelay"/>, then for one <see cref="SettleInterval"/> in which the
    /// JIT compiled nothing (at most <see cref="MaxSettleChecks"/> of them), then pages out
    /// (<paramref name="pageOut"/>) and returns what that gave back.
    /// </summary>
    public static async Task<long> PageOutWhenSettledAsync(Func<long> compiledMethods, Func<long> pageOut, TimeProvider time, CancellationToken cancellationToken)
    {
        await Task.Delay(PageOutDelay, time, cancellationToken).ConfigureAwait(false);
        var compiled = compiledMethods();
        for (var check = 0; check < MaxSettleChecks; check++)
        {
            await Task.Delay(SettleInterval, time, cancellationToken).ConfigureAwait(false);
            var now = compiledMethods();
            if (now == compiled)
            {
                break;
            }

            compiled = now;
        }

        return pageOut();
    }

    /// <summary>
    /// Gives back the pages of every private or read-only file mapping (the executable, the
    /// runtime's libraries, assemblies' metadata). Most of them were touched only by startup; the request path's own pages
    /// fault back from the file on next use (milliseconds, once). Two steps: the kernel
    /// reclaims the clean pages this process alone maps (<c>MADV_PAGEOUT</c>: freed outright),
    /// then the file pages of read-only mappings that other processes map too (every Herald on
    /// a node runs the same executable, so startup's pages are shared and reclaim skips them)
    /// are unmapped from this process (<c>MADV_DONTNEED</c>: they stay in the page cache, clean
    /// and reclaimable, for whoever still maps them). Only file pages of read-only mappings are
    /// unmapped, as <c>/proc/self/pagemap</c> tells them apart: a private page this process
    /// wrote (a copy, relocated data) would be lost. <paramref name="announce"/> hears how
    /// many resident bytes are about to go, before, because anything run after faults its code
    /// back. Returns that figure, or 0 where the platform cannot.
    /// </summary>
    public static long PageOutStartupPages(Action<long>? announce = null)
    {
        if (!OperatingSystem.IsLinux() || Environment.GetEnvironmentVariable(PageOutVariable) == "0")
        {
            return 0;
        }

        List<FileMapping> mappings;
        try
        {
            using var smaps = new FileStream("/proc/self/smaps", FileMode.Open, FileAccess.Read, FileShare.ReadWrite, bufferSize: 0);
            mappings = PageableFileMappings(smaps);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return 0;
        }

        long leaving = 0;
        foreach (var mapping in mappings)
        {
            leaving += mapping.PrivateCleanBytes + (mapping.Writable ? 0 : mapping.SharedCleanBytes);
        }

        // A kernel before 5.4 knows no MADV_PAGEOUT: it refuses the advice even for no bytes, and
        // then nothing is announced or given back.
        if (mappings.Count == 0 || Advise((nint)mappings[0].Start, 0, AdvicePageOut) != 0)
        {
            return 0;
        }

        announce?.Invoke(leaving);
        foreach (var mapping in mappings)
        {
            _ = Advise((nint)mapping.Start, (nuint)mapping.Length, AdvicePageOut);
        }

        try
        {
            UnmapSharedFilePages(mappings);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // No page map to read: the shared pages stay mapped.
        }

        return leaving;
    }

    private static void UnmapSharedFilePages(List<FileMapping> mappings)
    {
        var pageSize = (ulong)Environment.SystemPageSize;
        using var pageMap = new FileStream("/proc/self/pagemap", FileMode.Open, FileAccess.Read, FileShare.ReadWrite, bufferSize: 0);
        var entries = new byte[PageMapEntry * 1024];
        var runs = new List<(ulong Start, ulong Length)>();
        foreach (var mapping in mappings)
        {
            if (mapping.Writable || mapping.SharedCleanBytes == 0)
            {
                continue;
            }

            var run = default(FilePageRun);
            var pages = mapping.Length / pageSize;
            for (ulong page = 0; page < pages;)
            {
                var count = (int)Math.Min(pages - page, (ulong)(entries.Length / PageMapEntry));
                pageMap.Position = (long)((mapping.Start / pageSize + page) * PageMapEntry);
                pageMap.ReadExactly(entries, 0, count * PageMapEntry);
                AddFilePageRuns(entries.AsSpan(0, count * PageMapEntry), mapping.Start + (page * pageSize), pageSize, ref run, runs);
                page += (ulong)count;
                if (page == pages)
                {
                    run.CloseInto(runs);
                }

                // Right after reading their entries: a page the process writes in between would
                // be a copy, and unmapped, lost. Read-only mappings are written only by the loader
                // as it maps a new image, which is not one of these mappings.
                UnmapRuns(runs);
            }
        }
    }

    private static void UnmapRuns(List<(ulong Start, ulong Length)> runs)
    {
        foreach (var (start, length) in runs)
        {
            _ = Advise((nint)start, (nuint)length, AdviceDontNeed);
        }

        runs.Clear();
    }

    /// <summary>
    /// Adds to <paramref name="runs"/> the runs of pages that are present and file pages, from
    /// <c>/proc/PID/pagemap</c> entries (eight bytes a page, little-endian: bit 63 present,
    /// bit 61 a file page or shared anonymous memory) starting at <paramref name="address"/>.
    /// <paramref name="open"/> carries a run across calls.
    /// </summary>
    public static void AddFilePageRuns(ReadOnlySpan<byte> entries, ulong address, ulong pageSize, ref FilePageRun open, List<(ulong Start, ulong Length)> runs)
    {
        for (var offset = 0; offset + PageMapEntry <= entries.Length; offset += PageMapEntry, address += pageSize)
        {
            var entry = BinaryPrimitives.ReadUInt64LittleEndian(entries[offset..]);
            // Entries come one page after another, so an open run always ends at this page.
            if ((entry & PagePresent) == 0 || (entry & PageFileOrShared) == 0)
            {
                open.CloseInto(runs);
            }
            else if (open.Length == 0)
            {
                open = new FilePageRun(address, pageSize);
            }
            else
            {
                open.Length += pageSize;
            }
        }
    }

    /// <summary>Pages found so far in a row, not yet added to the runs.</summary>
    internal record struct FilePageRun(ulong Start, ulong Length)
    {
        public void CloseInto(List<(ulong Start, ulong Length)> runs)
        {
            if (Length != 0)
            {
                runs.Add((Start, Length));
                this = default;
            }
        }
    }

    /// <summary>
    /// The mappings of regular files in a <c>/proc/PID/smaps</c> stream that can be given back
    /// (private ones, and shared read-only ones), with their clean bytes. Shared memory (<c>memfd:</c> code mappings, <c>/dev/shm</c>,
    /// deleted files) is left out: without swap the kernel could only unmap those pages, not
    /// free them, so RSS would fall while the memory stays in use. Read as bytes through one
    /// buffer: text and garbage made here would stay resident in gen0 after the page-out.
    /// </summary>
    public static List<FileMapping> PageableFileMappings(Stream smaps)
    {
        var mappings = new List<FileMapping>();
        var buffer = new byte[MaxLine];
        var filled = 0;
        var current = -1;
        while (true)
        {
            var read = smaps.Read(buffer, filled, buffer.Length - filled);
            filled += read;
            var text = buffer.AsSpan(0, filled);
            int newline;
            while ((newline = text.IndexOf((byte)'\n')) >= 0)
            {
                ReadLine(text[..newline], mappings, ref current);
                text = text[(newline + 1)..];
            }

            if (read == 0)
            {
                ReadLine(text, mappings, ref current);
                return mappings;
            }

            if (text.Length == buffer.Length)
            {
                // A line longer than any /proc line can be: not a mapping of ours.
                text = [];
                current = -1;
            }

            text.CopyTo(buffer);
            filled = text.Length;
        }
    }

    private static void ReadLine(ReadOnlySpan<byte> line, List<FileMapping> mappings, ref int current)
    {
        if (TryReadBytes(line, "Private_Clean:"u8, out var privateClean))
        {
            if (current >= 0)
            {
                mappings[current] = mappings[current] with { PrivateCleanBytes = privateClean };
            }

            return;
        }

        if (TryReadBytes(line, "Shared_Clean:"u8, out var sharedClean))
        {
            if (current >= 0)
            {
                mappings[current] = mappings[current] with { SharedCleanBytes = sharedClean };
            }

            return;
        }

        // A mapping's header is "start-end perms offset dev inode [path]"; other lines are "Key: value".
        var space = line.IndexOf((byte)' ');
        if (space <= 0 || line[space - 1] == (byte)':')
        {
            return;
        }

        current = -1;
        var range = line[..space];
        var dash = range.IndexOf((byte)'-');
        var rest = line[(space + 1)..];
        if (dash <= 0
            || !Utf8Parser.TryParse(range[..dash], out ulong start, out var used, 'x') || used != dash
            || !Utf8Parser.TryParse(range[(dash + 1)..], out ulong end, out used, 'x') || used != range.Length - dash - 1
            || end <= start
            || rest.Length < 4)
        {
            return;
        }

        // Private mappings, and shared ones that cannot be written (the runtime maps assemblies'
        // metadata that way): a shared writable mapping's pages are someone's data.
        var writable = rest[1] == (byte)'w';
        if (rest[3] != (byte)'p' && (rest[3] != (byte)'s' || writable))
        {
            return;
        }

        // perms offset dev inode, then the path after padding.
        for (var field = 0; field < 3; field++)
        {
            var next = rest.IndexOf((byte)' ');
            if (next < 0)
            {
                return;
            }

            rest = rest[(next + 1)..];
        }

        var inodeEnd = rest.IndexOf((byte)' ');
        if (inodeEnd < 0 || rest[..inodeEnd].SequenceEqual("0"u8))
        {
            return;
        }

        var path = rest[inodeEnd..].Trim((byte)' ');
        if (path.Length == 0 || path[0] != (byte)'/' || path.StartsWith("/memfd:"u8) || path.StartsWith("/dev/"u8) || path.EndsWith(" (deleted)"u8))
        {
            return;
        }

        mappings.Add(new FileMapping(start, end - start, writable));
        current = mappings.Count - 1;
    }

    /// <summary>Reads a "Key:    N kB" line of <paramref name="key"/> as bytes.</summary>
    private static bool TryReadBytes(ReadOnlySpan<byte> line, ReadOnlySpan<byte> key, out long bytes)
    {
        bytes = 0;
        if (!line.StartsWith(key))
        {
            return false;
        }

        var text = line[key.Length..].Trim((byte)' ');
        if (text.EndsWith("kB"u8))
        {
            text = text[..^2].TrimEnd((byte)' ');
        }

        if (!Utf8Parser.TryParse(text, out long kilobytes, out var used) || used != text.Length)
        {
            // A key line all the same: not a mapping's header.
            return true;
        }

        bytes = kilobytes * 1024;
        return true;
    }

    /// <summary>
    /// One mapping to page out: its range, whether it can be written, and its clean resident
    /// bytes that only this process maps and that others map too.
    /// </summary>
    internal readonly record struct FileMapping(ulong Start, ulong Length, bool Writable, long PrivateCleanBytes = 0, long SharedCleanBytes = 0);

    [LibraryImport("libc", EntryPoint = "madvise", SetLastError = true)]
    private static partial int Advise(nint address, nuint length, int advice);
}
