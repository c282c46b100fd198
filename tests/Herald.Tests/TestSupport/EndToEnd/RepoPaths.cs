namespace Herald.Tests.TestSupport.EndToEnd;

/// <summary>Folders of the source tree, found by walking up from the test binaries.</summary>
public static class RepoPaths
{
    private static readonly Lazy<string> LazyRoot = new(FindRoot);

    /// <summary>The repository root: the first ancestor of the test output holding Herald.slnx.</summary>
    public static string Root => LazyRoot.Value;

    /// <summary>tests/Herald.Tests/EndToEnd/node: the Node peers' scripts and lock file.</summary>
    public static string NodePeers => Path.Combine(Root, "tests", "Herald.Tests", "EndToEnd", "node");

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Herald.slnx")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException(
            $"no Herald.slnx above {AppContext.BaseDirectory}: run the tests from a checkout of the repository.");
    }
}
