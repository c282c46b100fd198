using System.IO.MemoryMappedFiles;
using System.Text;
using Herald.Proxy.Memory;
using Herald.Tests.TestSupport;
using Xunit;

namespace Herald.Tests.Memory;

public sealed class StartupMemoryTests
{
    // Hand-written in the kernel's smaps layout: the header, then "Key: value kB" lines.
    private const string Smaps = """
        55d0c0000000-55d0c2400000 r-xp 00000000 fd:00 1048601                    /app/herald
        Size:              36864 kB
        Rss:               30000 kB
        Shared_Clean:       2000 kB
        Private_Clean:     28000 kB
        Private_Dirty:         0 kB
        55d0c2400000-55d0c2500000 rw-p 02400000 fd:00 1048601                    /app/herald
        Rss:                1024 kB
        Private_Clean:         4 kB
        Private_Dirty:      1020 kB
        55d0c3000000-55d0c3100000 rw-p 00000000 00:00 0                          [heap]
        Private_Clean:         0 kB
        7f0000000000-7f0000800000 rw-p 00000000 00:00 0 
        Private_Clean:         0 kB
        7f0000800000-7f0000c00000 r-xs 00000000 00:01 2051                       /memfd:doublemapper (deleted)
        Private_Clean:         0 kB
        7f0000c00000-7f0000d00000 r--s 00000000 fd:00 1048700                    /var/lib/shared.db
        Private_Clean:       512 kB
        7f0000d00000-7f0000e00000 rw-p 00000000 00:19 77                         /dev/shm/ring
        Private_Clean:         0 kB
        7f0000e00000-7f0000f00000 r--p 00000000 fd:00 1048800                    /tmp/replaced.so (deleted)
        Private_Clean:       100 kB
        7f0000f00000-7f0000f10000 rw-s 00000000 fd:00 1048701                    /var/lib/journal.db
        Private_Clean:         8 kB
        7f0001000000-7f0001200000 r-xp 00010000 fd:00 1048900                    /opt/my app/libx.so
        Rss:                 640 kB
        Shared_Clean:         40 kB
        Private_Clean:       600 kB
        7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0                          [stack]
        Private_Clean:         0 kB
        """;

    private static readonly StartupMemory.FileMapping[] Expected =
    [
        new(0x55d0c0000000, 0x2400000, Writable: false, PrivateCleanBytes: 28000 * 1024, SharedCleanBytes: 2000 * 1024),
        new(0x55d0c2400000, 0x100000, Writable: true, PrivateCleanBytes: 4 * 1024),
        new(0x7f0000c00000, 0x100000, Writable: false, PrivateCleanBytes: 512 * 1024),
        new(0x7f0001000000, 0x200000, Writable: false, PrivateCleanBytes: 600 * 1024, SharedCleanBytes: 40 * 1024),
    ];

    [Fact]
    public void PageableFileMappings_SmapsOfAProcess_KeepsRegularFilesMappedPrivateOrReadOnly()
    {
        var mappings = StartupMemory.PageableFileMappings(new MemoryStream(Encoding.ASCII.GetBytes(Smaps)));

        Assert.Equal(Expected, mappings);
    }

    [Fact]
    public void PageableFileMappings_LinesSplitAcrossReads_ParsesTheSame()
    {
        var mappings = StartupMemory.PageableFileMappings(new TrickleStream(Encoding.ASCII.GetBytes(Smaps), bytesPerRead: 7));

        Assert.Equal(Expected, mappings);
    }

    [Fact]
    public async Task PageOutWhenSettledAsync_CompilerQuiet_PagesOutOneQuietSecondAfterTheDelay()
    {
        var time = new ManualTimeProvider();
        var pageOuts = 0;
        var task = StartupMemory.PageOutWhenSettledAsync(() => 500, () => ++pageOuts, time, CancellationToken.None);

        await AdvanceAsync(time, StartupMemory.PageOutDelay - TimeSpan.FromSeconds(1));
        Assert.Equal(0, pageOuts);
        time.Advance(TimeSpan.FromSeconds(1));
        await WaitForTimerAsync(time);
        Assert.Equal(0, pageOuts);
        time.Advance(StartupMemory.SettleInterval);

        Assert.Equal(1, await task.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(1, pageOuts);
    }

    [Fact]
    public async Task PageOutWhenSettledAsync_CompilerBusy_WaitsForASecondWithoutCompilations()
    {
        var time = new ManualTimeProvider();
        // What the JIT has compiled at the start and at each check: busy for three seconds.
        var counts = new Queue<long>([100, 110, 120, 130, 130]);
        var pageOuts = 0;
        var task = StartupMemory.PageOutWhenSettledAsync(counts.Dequeue, () => ++pageOuts, time, CancellationToken.None);
        await AdvanceAsync(time, StartupMemory.PageOutDelay);

        for (var second = 0; second < 3; second++)
        {
            await AdvanceAsync(time, StartupMemory.SettleInterval);
            Assert.Equal(0, pageOuts);
        }

        await AdvanceAsync(time, StartupMemory.SettleInterval);

        await task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(1, pageOuts);
        Assert.Empty(counts);
    }

    [Fact]
    public async Task PageOutWhenSettledAsync_CompilerNeverQuiet_PagesOutAfterTheLastCheck()
    {
        var time = new ManualTimeProvider();
        var compiled = 0;
        var pageOuts = 0;
        var task = StartupMemory.PageOutWhenSettledAsync(() => compiled++, () => ++pageOuts, time, CancellationToken.None);
        await AdvanceAsync(time, StartupMemory.PageOutDelay);

        for (var check = 0; check < StartupMemory.MaxSettleChecks - 1; check++)
        {
            await AdvanceAsync(time, StartupMemory.SettleInterval);
        }

        Assert.Equal(0, pageOuts);
        await AdvanceAsync(time, StartupMemory.SettleInterval);

        await task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(1, pageOuts);
    }

    [Fact]
    public async Task PageOutWhenSettledAsync_StoppedWhileWaiting_DoesNotPageOut()
    {
        var time = new ManualTimeProvider();
        using var stop = new CancellationTokenSource();
        var pageOuts = 0;
        var task = StartupMemory.PageOutWhenSettledAsync(() => 1, () => ++pageOuts, time, stop.Token);
        await WaitForTimerAsync(time);

        await stop.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => task.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(0, pageOuts);
    }

    [Fact]
    public void AddFilePageRuns_PagemapEntries_RunsOfPresentFilePagesOnly()
    {
        const ulong page = 4096;
        const ulong start = 0x7f0000000000;
        const ulong present = 1UL << 63;
        const ulong file = 1UL << 61;
        var runs = new List<(ulong Start, ulong Length)>();
        var open = default(StartupMemory.FilePageRun);

        // present file, present file, present anonymous (a page written: a copy), absent,
        // present file | then, in the next read, present file, present file.
        StartupMemory.AddFilePageRuns(Entries(present | file | 0x1234, present | file, present, 0, present | file), start, page, ref open, runs);
        StartupMemory.AddFilePageRuns(Entries(present | file, present | file), start + (5 * page), page, ref open, runs);
        open.CloseInto(runs);

        Assert.Equal([(start, 2 * page), (start + (4 * page), 3 * page)], runs);
    }

    [Theory]
    [InlineData(MemoryMappedFileAccess.CopyOnWrite, "rw-p")]
    [InlineData(MemoryMappedFileAccess.Read, "r--s")] // how the runtime maps assemblies' metadata
    public void PageOutStartupPages_FilePagesOnlyThisProcessMaps_AreFreed(MemoryMappedFileAccess access, string permissions)
    {
        using var fixture = new FileFixture();
        using var file = MemoryMappedFile.CreateFromFile(fixture.Path, FileMode.Open, null, 0, access);
        using var view = file.CreateViewAccessor(0, FileFixture.Size, access);
        for (var offset = 0; offset < FileFixture.Size; offset += 4096)
        {
            Assert.Equal(fixture.ByteAt(offset), view.ReadByte(offset));
        }

        var residentBefore = ResidentBytesOf(fixture.Path);
        long announced = -1;

        var returned = StartupMemory.PageOutStartupPages(bytes => announced = bytes);

        var residentAfter = ResidentBytesOf(fixture.Path);
        Assert.Contains(File.ReadLines("/proc/self/maps"), line => line.EndsWith(fixture.Path, StringComparison.Ordinal) && line.Split(' ')[1] == permissions);
        Assert.True(residentBefore >= FileFixture.Size * 3 / 4, $"the mapping held {residentBefore} bytes before");
        Assert.True(residentAfter <= 256 * 1024, $"the mapping still holds {residentAfter} bytes");
        Assert.Equal(returned, announced);
        Assert.True(announced >= residentBefore, $"announced {announced} bytes, the mapping alone held {residentBefore}");
    }

    [Fact]
    public void PageOutStartupPages_FilePagesAnotherProcessMapsToo_AreUnmappedHere()
    {
        // Heralds on one node run the same executable, so startup's pages are shared and
        // reclaim skips them: they are unmapped from this process instead.
        using var other = new SharingProcess();
        using var handle = File.OpenHandle(other.LibraryPath);
        using var mapping = MappedFile.ReadOnly(handle, other.LibraryLength);
        var sum = 0;
        for (var offset = 0; offset < mapping.Length; offset += 4096)
        {
            sum += mapping[offset];
        }

        var before = MappingFigures(mapping.Address);

        StartupMemory.PageOutStartupPages();

        var after = MappingFigures(mapping.Address);
        Assert.True(before.SharedClean > 0, $"the other process maps none of the pages (read {sum}, {before})");
        Assert.Equal(0, after.Resident);
    }

    [Fact]
    public void PageOutStartupPages_PagesThisProcessWrote_KeepWhatWasWritten()
    {
        // A private page once written is a copy that exists nowhere else: relocated data the
        // loader then made read-only, or a writable mapping's data. Giving it back would lose
        // it, even in a mapping whose other pages are shared file pages that do go.
        using var other = new SharingProcess();
        using var handle = File.OpenHandle(other.LibraryPath);
        using var original = MappedFile.ReadOnly(handle, other.LibraryLength);
        using var relocated = MappedFile.Writable(handle, other.LibraryLength);
        using var data = MappedFile.Writable(handle, other.LibraryLength);
        for (var offset = 4096; offset < relocated.Length; offset += 2 * 4096)
        {
            relocated[offset] = (byte)~original[offset];
            data[offset] = (byte)~original[offset];
        }

        var untouched = relocated[0];
        relocated.MakeReadOnly();
        Assert.True(MappingFigures(relocated.Address).SharedClean > 0, "the mapping has no shared file pages to unmap");

        StartupMemory.PageOutStartupPages();

        Assert.Equal(untouched, relocated[0]);
        for (var offset = 4096; offset < relocated.Length; offset += 2 * 4096)
        {
            Assert.Equal((byte)~original[offset], relocated[offset]);
            Assert.Equal((byte)~original[offset], data[offset]);
        }
    }

    private static byte[] Entries(params ulong[] entries)
    {
        var bytes = new byte[entries.Length * 8];
        for (var i = 0; i < entries.Length; i++)
        {
            System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(i * 8), entries[i]);
        }

        return bytes;
    }

    private static long ResidentBytesOf(string path) =>
        SmapsFigures(header => header.EndsWith(path, StringComparison.Ordinal)).Resident;

    /// <summary>Resident and shared clean bytes of the mapping at <paramref name="address"/>.</summary>
    private static (long Resident, long SharedClean) MappingFigures(nint address) =>
        SmapsFigures(header => ulong.Parse(header.Split('-')[0], System.Globalization.NumberStyles.HexNumber, System.Globalization.CultureInfo.InvariantCulture) == (ulong)address);

    /// <summary>Resident and shared clean bytes of the mappings whose smaps header matches.</summary>
    private static (long Resident, long SharedClean) SmapsFigures(Func<string, bool> isMapping)
    {
        var inMapping = false;
        long resident = 0;
        long sharedClean = 0;
        foreach (var line in File.ReadLines("/proc/self/smaps"))
        {
            var firstField = line.Split(' ', 2)[0];
            if (firstField.Contains('-', StringComparison.Ordinal) && !firstField.EndsWith(':'))
            {
                inMapping = isMapping(line);
            }
            else if (inMapping && line.StartsWith("Rss:", StringComparison.Ordinal))
            {
                resident += Kilobytes(line) * 1024;
            }
            else if (inMapping && line.StartsWith("Shared_Clean:", StringComparison.Ordinal))
            {
                sharedClean += Kilobytes(line) * 1024;
            }
        }

        return (resident, sharedClean);
    }

    private static long Kilobytes(string smapsLine) =>
        long.Parse(smapsLine[(smapsLine.IndexOf(':', StringComparison.Ordinal) + 1)..].Replace("kB", "", StringComparison.Ordinal).Trim(), System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Advances virtual time once the code under test has armed its next timer.</summary>
    private static async Task AdvanceAsync(ManualTimeProvider time, TimeSpan by)
    {
        await WaitForTimerAsync(time);
        time.Advance(by);
    }

    private static async Task WaitForTimerAsync(ManualTimeProvider time)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (time.ActiveTimers == 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "the page-out never armed its next timer");
            await Task.Yield();
        }
    }

    /// <summary>
    /// A 4 MB file of random bytes on the build's own disk (a tmpfs file's pages would be shared
    /// memory), written through to it: a dirty page would wait for write-back instead of going.
    /// </summary>
    private sealed class FileFixture : IDisposable
    {
        public const int Size = 4 * 1024 * 1024;

        private readonly string _directory = System.IO.Path.Combine(AppContext.BaseDirectory, "pageout-" + Guid.NewGuid().ToString("N"));
        private readonly byte[] _content = new byte[Size];

        public FileFixture()
        {
            Directory.CreateDirectory(_directory);
            Path = System.IO.Path.Combine(_directory, "startup-only.bin");
            Random.Shared.NextBytes(_content);
            using var write = new FileStream(Path, FileMode.CreateNew, FileAccess.Write);
            write.Write(_content);
            write.Flush(flushToDisk: true);
        }

        public string Path { get; }

        public byte ByteAt(int offset) => _content[offset];

        public void Dispose() => Directory.Delete(_directory, recursive: true);
    }

    /// <summary>
    /// Another process that maps a file, as another Herald maps the same executable: a copy of
    /// one of the runtime's shared libraries, preloaded into <c>sleep</c> by the dynamic loader.
    /// </summary>
    private sealed class SharingProcess : IDisposable
    {
        private readonly string _directory = System.IO.Path.Combine(AppContext.BaseDirectory, "pageout-" + Guid.NewGuid().ToString("N"));
        private readonly System.Diagnostics.Process _process;

        public SharingProcess()
        {
            Directory.CreateDirectory(_directory);
            LibraryPath = System.IO.Path.Combine(_directory, "libshared.so");
            File.Copy(System.IO.Path.Combine(System.Runtime.InteropServices.RuntimeEnvironment.GetRuntimeDirectory(), "libSystem.Native.so"), LibraryPath);
            LibraryLength = (int)new FileInfo(LibraryPath).Length;
            using (var written = new FileStream(LibraryPath, FileMode.Open, FileAccess.ReadWrite))
            {
                // Clean pages, as an executable's are: freshly written ones count as dirty.
                written.Flush(flushToDisk: true);
            }

            var start = new System.Diagnostics.ProcessStartInfo("sleep", "300") { UseShellExecute = false };
            start.Environment["LD_PRELOAD"] = LibraryPath;
            _process = System.Diagnostics.Process.Start(start)!;
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
            // Loaded once sleep sleeps: the loader has mapped the library and read through it.
            while (!File.ReadAllText($"/proc/{_process.Id}/maps").Contains(LibraryPath, StringComparison.Ordinal)
                || File.ReadAllText($"/proc/{_process.Id}/stat").Split(") ")[1][0] != 'S')
            {
                Assert.True(DateTime.UtcNow < deadline, "sleep never loaded the preloaded library");
                Thread.Yield();
            }
        }

        public string LibraryPath { get; }

        public int LibraryLength { get; }

        public void Dispose()
        {
            _process.Kill();
            _process.WaitForExit();
            _process.Dispose();
            Directory.Delete(_directory, recursive: true);
        }
    }

    /// <summary>Returns at most a few bytes per read, as a pipe or /proc may.</summary>
    private sealed class TrickleStream(byte[] content, int bytesPerRead) : Stream
    {
        private int _position;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => content.Length;

        public override long Position
        {
            get => _position;
            set => throw new NotSupportedException();
        }

        public override int Read(byte[] buffer, int offset, int count)
        {
            var length = Math.Min(Math.Min(count, bytesPerRead), content.Length - _position);
            Array.Copy(content, _position, buffer, offset, length);
            _position += length;
            return length;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
