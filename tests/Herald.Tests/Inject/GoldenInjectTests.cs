using Herald.Proxy.Cli;
using Herald.Tests.TestSupport.EndToEnd;
using Xunit;

namespace Herald.Tests.Inject;

/// <summary>
/// <c>herald inject</c> on each golden/NAME.input.yaml, compared with golden/NAME.golden.yaml.
/// HERALD_UPDATE_GOLDEN=1 rewrites the .golden.yaml files; review the diff before committing it.
/// </summary>
public sealed class GoldenInjectTests
{
    private static readonly (string Name, string[] Args)[] Cases =
    [
        ("deployment", []),
        ("multi-document", ["--xds", "10.96.0.20:15010"]),
        ("pod-annotations", []),
        ("opt-out", []),
        ("list-and-flags", ["--image", "registry.example/herald:1.2.3", "--init-image", "registry.example/herald-init:1.2.3", "--interception", "tproxy", "--wait-timeout", "2m", "--delta"]),
    ];

    public static TheoryData<string> CaseNames()
    {
        var data = new TheoryData<string>();
        foreach (var (name, _) in Cases)
        {
            data.Add(name);
        }

        return data;
    }

    public static string GoldenDirectory => Path.Combine(RepoPaths.Root, "tests", "Herald.Tests", "Inject", "golden");

    [Theory]
    [MemberData(nameof(CaseNames))]
    public async Task Inject_Input_MatchesGoldenFile(string name)
    {
        var input = Path.Combine(GoldenDirectory, name + ".input.yaml");
        var (exit, output, stderr) = await RunAsync([.. Args(name), "-f", input]);

        Assert.True(exit == CommandLine.ExitOk, stderr);
        var path = Path.Combine(GoldenDirectory, name + ".golden.yaml");
        if (Environment.GetEnvironmentVariable("HERALD_UPDATE_GOLDEN") == "1")
        {
            await File.WriteAllTextAsync(path, output);
        }

        Assert.True(File.Exists(path), $"missing golden file {path}: run the tests with HERALD_UPDATE_GOLDEN=1 and review it");
        Assert.Equal(await File.ReadAllTextAsync(path), output);
    }

    [Theory]
    [MemberData(nameof(CaseNames))]
    public async Task Inject_GoldenOutput_IsAFixedPoint(string name)
    {
        var once = Path.Combine(GoldenDirectory, name + ".golden.yaml");

        var (exit, twice, stderr) = await RunAsync([.. Args(name), "-f", once]);

        Assert.True(exit == CommandLine.ExitOk, stderr);
        Assert.Equal(await File.ReadAllTextAsync(once), twice);
    }

    [Fact]
    public void GoldenDirectory_HoldsOnlyKnownCases()
    {
        var known = Cases.SelectMany(c => new[] { c.Name + ".input.yaml", c.Name + ".golden.yaml" }).ToHashSet();
        var files = Directory.GetFiles(GoldenDirectory, "*.yaml").Select(Path.GetFileName).ToList();

        Assert.All(files, f => Assert.Contains(f!, known));
    }

    private static string[] Args(string name) => Cases.Single(c => c.Name == name).Args;

    internal static async Task<(int Exit, string Stdout, string Stderr)> RunAsync(string[] args, string stdin = "")
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var exit = await InjectCommand.RunAsync(args, new StringReader(stdin), stdout, stderr);
        return (exit, stdout.ToString(), stderr.ToString());
    }
}
