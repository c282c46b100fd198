using System.Globalization;
using System.Text;

namespace Herald.Iptables;

/// <summary>
/// Renders Herald's nftables table. The table body is written exactly as
/// <c>nft list table inet herald</c> prints it, so install can compare the live table with it
/// as text; the script replaces the whole table in one transaction.
/// </summary>
public static class NftRenderer
{
    public const string Family = "inet";
    public const string TableName = "herald";

    /// <summary>The <c>nft -f</c> script: create-if-missing, delete, define: one atomic replace.</summary>
    public static string RenderScript(InterceptionOptions options) =>
        $"table {Family} {TableName}\ndelete table {Family} {TableName}\n{RenderTable(options)}";

    /// <summary>The table as <c>nft list table inet herald</c> shows it.</summary>
    public static string RenderTable(InterceptionOptions options)
    {
        var chains = new List<(string Name, string? Hook, List<string> Rules)>();
        var v6 = options.Ipv6;
        var mark = $"0x{options.TproxyMark.ToString("x8", CultureInfo.InvariantCulture)}";
        var onlyV4 = v6 ? null : "meta nfproto ipv6 return";

        if (options.InboundMode == InboundMode.Redirect)
        {
            chains.Add(("prerouting", "type nat hook prerouting priority dstnat; policy accept;", Rules(onlyV4, "meta l4proto tcp jump inbound")));
            var inbound = new List<string>();
            AddPortMatch(inbound, options.ExcludeInboundPorts, "return");
            if (options.IncludeInboundPorts is null)
            {
                inbound.Add("meta l4proto tcp jump in_redirect");
            }
            else
            {
                AddPortMatch(inbound, options.IncludeInboundPorts, "jump in_redirect");
            }

            chains.Add(("inbound", null, inbound));
        }

        chains.Add(("output", "type nat hook output priority -100; policy accept;", Rules(onlyV4, "meta l4proto tcp jump outbound")));
        chains.Add(("in_redirect", null, [$"meta l4proto tcp redirect to :{Num(options.InboundPort)}"]));
        chains.Add(("outbound", null, OutboundRules(options)));
        chains.Add(("out_redirect", null, [$"meta l4proto tcp redirect to :{Num(options.ProxyPort)}"]));

        if (options.InboundMode == InboundMode.Tproxy)
        {
            chains.Add(("mangle_prerouting", "type filter hook prerouting priority mangle; policy accept;", Rules(onlyV4, "meta l4proto tcp jump tproxy_inbound")));
            var tproxy = new List<string>();
            AddPortMatch(tproxy, options.ExcludeInboundPorts, "return");

            // Packets of connections already accepted transparently keep the mark, so they route locally.
            tproxy.Add($"meta l4proto tcp socket transparent 1 meta mark set {mark} accept");
            var ports = options.IncludeInboundPorts is null ? "meta l4proto tcp" : PortMatch(options.IncludeInboundPorts);
            if (ports is not null)
            {
                tproxy.Add($"ip daddr != 127.0.0.1 {ports} tproxy ip to :{Num(options.InboundPort)} meta mark set {mark} accept");
                if (v6)
                {
                    tproxy.Add($"ip6 daddr != ::1 {ports} tproxy ip6 to :{Num(options.InboundPort)} meta mark set {mark} accept");
                }
            }

            chains.Add(("tproxy_inbound", null, tproxy));
        }

        var text = new StringBuilder();
        text.Append("table ").Append(Family).Append(' ').Append(TableName).Append(" {\n");
        for (var i = 0; i < chains.Count; i++)
        {
            if (i > 0)
            {
                text.Append('\n');
            }

            var (name, hook, rules) = chains[i];
            text.Append("\tchain ").Append(name).Append(" {\n");
            if (hook is not null)
            {
                text.Append("\t\t").Append(hook).Append('\n');
            }

            foreach (var rule in rules)
            {
                text.Append("\t\t").Append(rule).Append('\n');
            }

            text.Append("\t}\n");
        }

        text.Append("}\n");
        return text.ToString();
    }

    private static List<string> OutboundRules(InterceptionOptions options)
    {
        var v6 = options.Ipv6;
        var rules = new List<string> { "ip saddr 127.0.0.6 oifname \"lo\" return" };
        if (v6)
        {
            rules.Add("ip6 saddr ::6 oifname \"lo\" return");
        }

        foreach (var (key, id) in new[] { ("skuid", options.ProxyUid), ("skgid", options.ProxyGid) })
        {
            var owner = id.ToString(CultureInfo.InvariantCulture);
            rules.Add($"oifname \"lo\" ip daddr != 127.0.0.1 meta l4proto tcp meta {key} {owner} jump in_redirect");
            if (v6)
            {
                rules.Add($"oifname \"lo\" ip6 daddr != ::1 meta l4proto tcp meta {key} {owner} jump in_redirect");
            }

            rules.Add($"oifname \"lo\" meta {key} != {owner} return");
            rules.Add($"meta {key} {owner} return");
        }

        rules.Add("ip daddr 127.0.0.1 return");
        if (v6)
        {
            rules.Add("ip6 daddr ::1 return");
        }

        AddPortMatch(rules, options.ExcludeOutboundPorts, "return");
        AddCidrMatches(rules, options.ExcludeOutboundCidrs, v6, "return");
        if (options.IncludeOutboundCidrs is null)
        {
            rules.Add("jump out_redirect");
        }
        else
        {
            AddCidrMatches(rules, options.IncludeOutboundCidrs, v6, "jump out_redirect");
        }

        return rules;
    }

    private static List<string> Rules(string? first, string rule) => first is null ? [rule] : [first, rule];

    private static void AddPortMatch(List<string> rules, IReadOnlyList<int> ports, string verdict)
    {
        var match = PortMatch(ports);
        if (match is not null)
        {
            rules.Add($"{match} {verdict}");
        }
    }

    /// <summary>nft prints a one-element set as a plain value, so it is rendered that way.</summary>
    private static string? PortMatch(IReadOnlyList<int> ports) => ports.Count switch
    {
        0 => null,
        1 => $"tcp dport {Num(ports[0])}",
        _ => $"tcp dport {{ {string.Join(", ", ports.Select(Num))} }}",
    };

    private static void AddCidrMatches(List<string> rules, IReadOnlyList<Cidr> cidrs, bool v6, string verdict)
    {
        AddCidrMatch(rules, "ip", cidrs.Where(c => c.Family == IpFamily.V4).ToList(), verdict);
        if (v6)
        {
            AddCidrMatch(rules, "ip6", cidrs.Where(c => c.Family == IpFamily.V6).ToList(), verdict);
        }
    }

    /// <summary>One rule per prefix: overlapping prefixes in one interval set are an error in nft, and the order stays the user's.</summary>
    private static void AddCidrMatch(List<string> rules, string family, List<Cidr> cidrs, string verdict)
    {
        foreach (var cidr in cidrs)
        {
            rules.Add($"{family} daddr {NftCidr(cidr)} {verdict}");
        }
    }

    /// <summary>nft prints host prefixes as bare addresses.</summary>
    private static string NftCidr(Cidr cidr) =>
        cidr.PrefixLength == (cidr.Family == IpFamily.V4 ? 32 : 128) ? cidr.Network.ToString() : cidr.ToString();

    private static string Num(int value) => value.ToString(CultureInfo.InvariantCulture);
}
