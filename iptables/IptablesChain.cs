namespace Herald.Iptables;

/// <summary>A chain of Herald's own and its rules, each written exactly as iptables-save prints it (without <c>-A NAME</c>).</summary>
public sealed record IptablesChain(string Name, IReadOnlyList<string> Rules);
