namespace Herald.Iptables;

/// <summary>
/// What install or uninstall must change for one family: an <c>iptables-restore --noflush</c>
/// script (null when nothing is to be done) and a line per difference found.
/// </summary>
public sealed record IptablesPlan(string? Script, IReadOnlyList<string> Drift);
