namespace Herald.Iptables;

/// <summary>An address family the rules are rendered for.</summary>
public enum IpFamily
{
    V4,
    V6,
}
