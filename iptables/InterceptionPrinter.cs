using System.Text;

namespace Herald.Iptables;

/// <summary>What <c>herald iptables print</c> shows: the exact input a fresh install feeds to the tools.</summary>
public static class InterceptionPrinter
{
    public static string Render(InterceptionOptions options)
    {
        var text = new StringBuilder();
        text.Append("# herald iptables: backend=").Append(options.Backend == Backend.Nft ? "nft" : "iptables")
            .Append(" inbound-mode=").Append(options.InboundMode == InboundMode.Tproxy ? "TPROXY" : "REDIRECT")
            .Append(" ipv6=").Append(options.Ipv6 ? "on" : "off").Append('\n');
        if (options.Backend == Backend.Nft)
        {
            text.Append("# nft -f -\n").Append(NftRenderer.RenderScript(options));
        }
        else
        {
            foreach (var family in Families(options))
            {
                text.Append("# ").Append(family == IpFamily.V4 ? "IPv4: iptables-restore" : "IPv6: ip6tables-restore").Append(" --noflush\n");
                text.Append(IptablesPlanner.RenderFresh(IptablesRuleBuilder.Build(options, family)));
            }
        }

        if (options.InboundMode == InboundMode.Tproxy)
        {
            text.Append("# TPROXY routing\n");
            foreach (var family in Families(options))
            {
                foreach (var command in TproxyRouting.AddCommands(options, family))
                {
                    text.Append(string.Join(' ', command)).Append('\n');
                }
            }
        }

        return text.ToString();
    }

    internal static IEnumerable<IpFamily> Families(InterceptionOptions options) =>
        options.Ipv6 ? [IpFamily.V4, IpFamily.V6] : [IpFamily.V4];
}
