using System.Globalization;

namespace Herald.Iptables;

/// <summary>
/// The policy route TPROXY needs: packets carrying Herald's mark are delivered locally
/// (<c>ip rule fwmark MARK lookup TABLE</c>, <c>local default dev lo table TABLE</c>).
/// </summary>
public static class TproxyRouting
{
    public static IReadOnlyList<IReadOnlyList<string>> AddCommands(InterceptionOptions options, IpFamily family) =>
    [
        ["ip", FamilyFlag(family), "rule", "add", .. RuleSelector(options)],
        ["ip", FamilyFlag(family), "route", "add", .. RouteSpec(options)],
    ];

    /// <summary>Differences between the live routing and what TPROXY needs (or, when <paramref name="wanted"/> is false, leftovers).</summary>
    public static List<string> Check(ICommandRunner runner, InterceptionOptions options, IpFamily family, bool wanted)
    {
        var drift = new List<string>();
        var rules = CountRules(runner, options, family);
        var hasRoute = HasRoute(runner, options, family);
        var name = family == IpFamily.V4 ? "IPv4" : "IPv6";
        if (wanted ? rules != 1 : rules != 0)
        {
            drift.Add($"{name} ip rule fwmark {Mark(options)} lookup {Table(options)}: {rules} present, {(wanted ? 1 : 0)} expected");
        }

        if (hasRoute != wanted)
        {
            drift.Add($"{name} route local default table {Table(options)}: {(hasRoute ? "present" : "missing")}");
        }

        return drift;
    }

    public static void Ensure(ICommandRunner runner, InterceptionOptions options, IpFamily family)
    {
        var rules = CountRules(runner, options, family);
        for (; rules > 1; rules--)
        {
            Must(runner, ["ip", FamilyFlag(family), "rule", "del", .. RuleSelector(options)]);
        }

        if (rules == 0)
        {
            Must(runner, ["ip", FamilyFlag(family), "rule", "add", .. RuleSelector(options)]);
        }

        if (!HasRoute(runner, options, family))
        {
            Must(runner, ["ip", FamilyFlag(family), "route", "add", .. RouteSpec(options)]);
        }
    }

    public static void Remove(ICommandRunner runner, InterceptionOptions options, IpFamily family)
    {
        for (var rules = CountRules(runner, options, family); rules > 0; rules--)
        {
            Must(runner, ["ip", FamilyFlag(family), "rule", "del", .. RuleSelector(options)]);
        }

        if (HasRoute(runner, options, family))
        {
            Must(runner, ["ip", FamilyFlag(family), "route", "del", .. RouteSpec(options)]);
        }
    }

    private static int CountRules(ICommandRunner runner, InterceptionOptions options, IpFamily family)
    {
        var result = runner.Run("ip", [FamilyFlag(family), "rule", "show"]);
        if (!result.Ok)
        {
            return 0;
        }

        var needle = $"fwmark {Mark(options)} lookup {Table(options)}";
        return result.Stdout.Split('\n').Count(line => line.TrimEnd().EndsWith(needle, StringComparison.Ordinal));
    }

    private static bool HasRoute(ICommandRunner runner, InterceptionOptions options, IpFamily family)
    {
        // A missing table is an error for ip(8); it means there is no route either.
        var result = runner.Run("ip", [FamilyFlag(family), "route", "show", "table", Table(options)]);
        return result.Ok && result.Stdout.Split('\n').Any(line => line.StartsWith("local default dev lo", StringComparison.Ordinal));
    }

    private static void Must(ICommandRunner runner, IReadOnlyList<string> command)
    {
        var result = runner.Run(command[0], [.. command.Skip(1)]);
        if (!result.Ok)
        {
            throw new InterceptionException($"{string.Join(' ', command)} failed ({result.ExitCode}): {result.Stderr.Trim()}");
        }
    }

    private static string[] RuleSelector(InterceptionOptions options) => ["fwmark", Mark(options), "lookup", Table(options)];

    private static string[] RouteSpec(InterceptionOptions options) => ["local", "default", "dev", "lo", "table", Table(options)];

    private static string FamilyFlag(IpFamily family) => family == IpFamily.V4 ? "-4" : "-6";

    private static string Mark(InterceptionOptions options) => $"0x{options.TproxyMark.ToString("x", CultureInfo.InvariantCulture)}";

    private static string Table(InterceptionOptions options) => options.TproxyRouteTable.ToString(CultureInfo.InvariantCulture);
}
