namespace Herald.Iptables;

/// <summary>Which kernel interface the rules are written for.</summary>
public enum Backend
{
    /// <summary>iptables-restore / ip6tables-restore with chains of Herald's own in the builtin tables.</summary>
    Iptables,

    /// <summary>One <c>table inet herald</c> loaded with <c>nft -f</c>.</summary>
    Nft,
}
