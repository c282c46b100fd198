namespace Herald.Tests.TestSupport.EndToEnd;

/// <summary>A temp file deleted on dispose.</summary>
public sealed class TempFile : IDisposable
{
    public string Path { get; } = System.IO.Path.GetTempFileName();

    public void Dispose()
    {
        try
        {
            File.Delete(Path);
        }
        catch (IOException)
        {
            // Left behind: harmless.
        }
    }
}
