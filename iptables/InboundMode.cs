namespace Herald.Iptables;

/// <summary>How inbound connections reach the proxy.</summary>
public enum InboundMode
{
    /// <summary>nat REDIRECT: the proxy sees its own address as the destination; the source is kept.</summary>
    Redirect,

    /// <summary>mangle TPROXY with a policy route: the accepted socket's local address is the original destination.</summary>
    Tproxy,
}
