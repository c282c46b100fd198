namespace Herald.Iptables;

/// <summary>What Herald wants in one table (nat or mangle): its chains and the jumps into them.</summary>
public sealed record IptablesTable(string Name, IReadOnlyList<IptablesChain> Chains, IReadOnlyList<IptablesJump> Jumps);
