using System.Text.RegularExpressions;

namespace Herald.Proxy.Admin;

/// <summary>The <c>filter</c> and <c>usedonly</c> parameters shared by <c>/stats</c> and <c>/stats/prometheus</c>.</summary>
internal sealed class StatsQuery
{
    public static readonly StatsQuery All = new(null, usedOnly: false);

    private readonly Regex? _filter;

    public StatsQuery(Regex? filter, bool usedOnly)
    {
        _filter = filter;
        UsedOnly = usedOnly;
    }

    public bool UsedOnly { get; }

    /// <summary>
    /// Builds a query from raw parameter values. The filter is a partial match like Envoy's
    /// RE2 one; the non-backtracking engine keeps a hostile pattern linear.
    /// Returns null and an error text when the pattern is invalid.
    /// </summary>
    public static StatsQuery? Create(string? filter, bool usedOnly, out string? error)
    {
        error = null;
        if (string.IsNullOrEmpty(filter))
        {
            return usedOnly ? new StatsQuery(null, usedOnly: true) : All;
        }

        try
        {
            var regex = new Regex(filter, RegexOptions.NonBacktracking | RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
            return new StatsQuery(regex, usedOnly);
        }
        catch (Exception e) when (e is ArgumentException or NotSupportedException)
        {
            error = $"Invalid regex: \"{e.Message}\"\n";
            return null;
        }
    }

    /// <summary>
    /// True when the stat is shown. Herald's stats carry no "used" flag, so a stat counts as
    /// used once it is non-zero (a histogram once it has a sample).
    /// </summary>
    public bool Includes(string flatName, bool used) =>
        (!UsedOnly || used) && (_filter is null || _filter.IsMatch(flatName));
}
