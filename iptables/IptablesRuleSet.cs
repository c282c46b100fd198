namespace Herald.Iptables;

/// <summary>The desired state for one address family. Every managed table is listed, even when empty, so stale chains in it are removed.</summary>
public sealed record IptablesRuleSet(IpFamily Family, IReadOnlyList<IptablesTable> Tables)
{
    /// <summary>Tables Herald may have chains in.</summary>
    public static readonly IReadOnlyList<string> ManagedTables = ["nat", "mangle"];

    /// <summary>Every chain of Herald's starts with this, so uninstall can find them without knowing the flags used.</summary>
    public const string ChainPrefix = "HERALD_";
}
