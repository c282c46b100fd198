using System.Runtime.InteropServices;

namespace Herald.Tests.Memory;

/// <summary>
/// A private mapping of a file made with mmap, as the runtime and the loader map executables:
/// read-only, or written and then made read-only (relocated data), which MemoryMappedFile
/// cannot make.
/// </summary>
internal sealed partial class MappedFile : IDisposable
{
    private const int ProtectRead = 1;
    private const int ProtectWrite = 2;
    private const int MapPrivate = 2;

    private MappedFile(nint address, int length)
    {
        Address = address;
        Length = length;
    }

    public nint Address { get; }

    public int Length { get; }

    public static MappedFile ReadOnly(SafeHandle file, int length) => Map(file, length, ProtectRead);

    public static MappedFile Writable(SafeHandle file, int length) => Map(file, length, ProtectRead | ProtectWrite);

    public void MakeReadOnly()
    {
        if (Protect(Address, (nuint)Length, ProtectRead) != 0)
        {
            throw new IOException($"mprotect failed: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    public byte this[int offset]
    {
        get => Marshal.ReadByte(Address, offset);
        set => Marshal.WriteByte(Address, offset, value);
    }

    public void Dispose() => _ = Unmap(Address, (nuint)Length);

    private static MappedFile Map(SafeHandle file, int length, int protection)
    {
        var address = MapMemory(0, (nuint)length, protection, MapPrivate, (int)file.DangerousGetHandle(), 0);
        if (address == -1)
        {
            throw new IOException($"mmap failed: errno {Marshal.GetLastPInvokeError()}");
        }

        return new MappedFile(address, length);
    }

    [LibraryImport("libc", EntryPoint = "mmap", SetLastError = true)]
    private static partial nint MapMemory(nint address, nuint length, int protection, int flags, int descriptor, long offset);

    [LibraryImport("libc", EntryPoint = "munmap", SetLastError = true)]
    private static partial int Unmap(nint address, nuint length);

    [LibraryImport("libc", EntryPoint = "mprotect", SetLastError = true)]
    private static partial int Protect(nint address, nuint length, int protection);
}
