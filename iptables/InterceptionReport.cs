namespace Herald.Iptables;

/// <summary>What install, uninstall or verify found and did.</summary>
public sealed record InterceptionReport(bool Changed, IReadOnlyList<string> Drift, IReadOnlyList<string> Notes);
