using Herald.Iptables;
using Herald.Tests.TestSupport.EndToEnd;
using Xunit;

namespace Herald.Tests.Iptables;

/// <summary>
/// The exact rules each flag combination renders, compared with files under golden/.
/// HERALD_UPDATE_GOLDEN=1 rewrites the files; review the diff before committing it.
/// </summary>
public sealed class GoldenRulesTests
{
    private static readonly (string Name, string[] Args)[] Cases =
    [
        ("defaults", []),
        ("proxy-port", ["--proxy-port", "16001"]),
        ("inbound-port", ["--inbound-port", "16006"]),
        ("proxy-uid", ["--proxy-uid", "2000"]),
        ("proxy-gid", ["--proxy-gid", "3000"]),
        ("include-inbound-ports", ["--include-inbound-ports", "8080,80,9090"]),
        ("include-inbound-ports-none", ["--include-inbound-ports", ""]),
        ("exclude-inbound-ports", ["--exclude-inbound-ports", "22,15021"]),
        ("exclude-outbound-ports", ["--exclude-outbound-ports", "5432,443"]),
        ("include-outbound-cidrs", ["--include-outbound-cidrs", "10.0.0.0/8,172.16.5.9/12,fd00::/8"]),
        ("exclude-outbound-cidrs", ["--exclude-outbound-cidrs", "169.254.169.254/32,192.168.0.0/16,fe80::/10"]),
        ("no-ipv6", ["--no-ipv6"]),
        ("tproxy", ["--inbound-mode", "TPROXY"]),
        ("tproxy-include-inbound-ports", ["--inbound-mode", "tproxy", "--include-inbound-ports", "8080,9090", "--exclude-inbound-ports", "9091"]),
        ("tproxy-no-ipv6", ["--inbound-mode", "TPROXY", "--no-ipv6"]),
        ("exclusions-combined", ["--exclude-inbound-ports", "22", "--exclude-outbound-ports", "3306,6379", "--exclude-outbound-cidrs", "10.96.0.0/12,fd10::/16", "--include-outbound-cidrs", "10.0.0.0/8,fd00::/8", "--proxy-uid", "1500", "--proxy-gid", "1501"]),
        ("nft-defaults", ["--backend", "nft"]),
        ("nft-tproxy", ["--backend", "nft", "--inbound-mode", "TPROXY"]),
        ("nft-no-ipv6", ["--backend", "nft", "--no-ipv6"]),
        ("nft-tproxy-no-ipv6", ["--backend", "nft", "--inbound-mode", "TPROXY", "--no-ipv6"]),
        ("nft-include-inbound-ports", ["--backend", "nft", "--include-inbound-ports", "8080", "--include-outbound-cidrs", "10.0.0.0/8,fd00::/8"]),
        ("nft-tproxy-include-inbound-ports", ["--backend", "nft", "--inbound-mode", "TPROXY", "--include-inbound-ports", "80,8080"]),
        ("nft-exclusions-combined", ["--backend=nft", "--exclude-inbound-ports=22", "--exclude-outbound-ports=3306,6379", "--exclude-outbound-cidrs=10.96.0.0/12,192.168.1.1,fd10::/16", "--proxy-uid=1500", "--proxy-gid=1501", "--proxy-port=16001", "--inbound-port=16006"]),
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

    private static string GoldenDirectory => Path.Combine(RepoPaths.Root, "tests", "Herald.Tests", "Iptables", "golden");

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void Print_FlagCombination_MatchesGoldenFile(string name)
    {
        var args = Cases.Single(c => c.Name == name).Args;
        var rendered = $"# herald iptables print {string.Join(' ', args.Select(Quote))}".TrimEnd() + "\n" + InterceptionPrinter.Render(InterceptionOptionsParser.Parse(args));
        var path = Path.Combine(GoldenDirectory, name + ".golden");
        if (Environment.GetEnvironmentVariable("HERALD_UPDATE_GOLDEN") == "1")
        {
            File.WriteAllText(path, rendered);
        }

        Assert.True(File.Exists(path), $"missing golden file {path}: run the tests with HERALD_UPDATE_GOLDEN=1 and review it");
        Assert.Equal(File.ReadAllText(path), rendered);
    }

    [Fact]
    public void GoldenDirectory_HoldsOnlyKnownCases()
    {
        var known = Cases.Select(c => c.Name + ".golden").ToHashSet();
        var files = Directory.GetFiles(GoldenDirectory, "*.golden").Select(Path.GetFileName).ToList();
        Assert.All(files, f => Assert.Contains(f!, known));
        Assert.True(Cases.Length >= 15);
        Assert.Contains(Cases, c => c.Args.Any(a => a.Contains("nft", StringComparison.Ordinal)));
    }

    [Fact]
    public void Print_SameFlags_RendersIdentically()
    {
        var args = new[] { "--exclude-outbound-cidrs", "10.0.0.0/8,fd00::/8", "--include-inbound-ports", "90,80,80" };
        Assert.Equal(InterceptionPrinter.Render(InterceptionOptionsParser.Parse(args)), InterceptionPrinter.Render(InterceptionOptionsParser.Parse(args)));
    }

    private static string Quote(string arg) => arg.Length == 0 ? "\"\"" : arg;
}
