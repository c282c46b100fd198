namespace Herald.Iptables;

/// <summary>The single rule in a builtin chain that enters Herald's chain, as iptables-save prints it.</summary>
public sealed record IptablesJump(string BuiltinChain, string Rule);
