using System.Globalization;

namespace Herald.Iptables;

/// <summary>
/// Builds Herald's chains for one family. Rules are spelled the way iptables-save prints them
/// (option order, <c>-m tcp</c>, masked CIDRs), so install can compare live chains to these as text.
/// </summary>
public static class IptablesRuleBuilder
{
    public const string Inbound = "HERALD_INBOUND";
    public const string InRedirect = "HERALD_IN_REDIRECT";
    public const string Output = "HERALD_OUTPUT";
    public const string Redirect = "HERALD_REDIRECT";
    public const string Divert = "HERALD_DIVERT";
    public const string Tproxy = "HERALD_TPROXY";

    public static IptablesRuleSet Build(InterceptionOptions options, IpFamily family)
    {
        var loopback = family == IpFamily.V4 ? "127.0.0.1/32" : "::1/128";

        // The proxy delivers inbound connections to the application from this address, so they are never captured again.
        var inboundSource = family == IpFamily.V4 ? "127.0.0.6/32" : "::6/128";

        var natChains = new List<IptablesChain>();
        var natJumps = new List<IptablesJump>();
        var mangleChains = new List<IptablesChain>();
        var mangleJumps = new List<IptablesJump>();

        natChains.Add(new IptablesChain(InRedirect, [$"-p tcp -j REDIRECT --to-ports {Num(options.InboundPort)}"]));
        natChains.Add(new IptablesChain(Redirect, [$"-p tcp -j REDIRECT --to-ports {Num(options.ProxyPort)}"]));

        if (options.InboundMode == InboundMode.Redirect)
        {
            natChains.Add(new IptablesChain(Inbound, InboundRules(options, InRedirect)));
            natJumps.Add(new IptablesJump("PREROUTING", $"-p tcp -j {Inbound}"));
        }
        else
        {
            var mark = $"0x{options.TproxyMark.ToString("x", CultureInfo.InvariantCulture)}/0xffffffff";
            var anyAddress = family == IpFamily.V4 ? "0.0.0.0" : "::";
            mangleChains.Add(new IptablesChain(Divert, [$"-j MARK --set-xmark {mark}", "-j ACCEPT"]));

            // Packets of connections the proxy already accepted transparently keep their mark, so replies route locally.
            var inbound = new List<string>();
            foreach (var port in options.ExcludeInboundPorts)
            {
                inbound.Add($"-p tcp -m tcp --dport {Num(port)} -j RETURN");
            }

            inbound.Add($"-p tcp -m socket --transparent -j {Divert}");
            inbound.AddRange(IncludeInboundRules(options, Tproxy));
            mangleChains.Add(new IptablesChain(Inbound, inbound));
            mangleChains.Add(new IptablesChain(Tproxy,
                [$"! -d {loopback} -p tcp -j TPROXY --on-port {Num(options.InboundPort)} --on-ip {anyAddress} --tproxy-mark {mark}"]));
            mangleJumps.Add(new IptablesJump("PREROUTING", $"-p tcp -j {Inbound}"));
        }

        natChains.Add(new IptablesChain(Output, OutputRules(options, family, loopback, inboundSource)));
        natJumps.Add(new IptablesJump("OUTPUT", $"-p tcp -j {Output}"));

        natChains.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
        mangleChains.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
        return new IptablesRuleSet(family, [new IptablesTable("nat", natChains, natJumps), new IptablesTable("mangle", mangleChains, mangleJumps)]);
    }

    private static List<string> InboundRules(InterceptionOptions options, string target)
    {
        var rules = new List<string>();
        foreach (var port in options.ExcludeInboundPorts)
        {
            rules.Add($"-p tcp -m tcp --dport {Num(port)} -j RETURN");
        }

        rules.AddRange(IncludeInboundRules(options, target));
        return rules;
    }

    private static IEnumerable<string> IncludeInboundRules(InterceptionOptions options, string target)
    {
        if (options.IncludeInboundPorts is null)
        {
            yield return $"-p tcp -j {target}";
            yield break;
        }

        foreach (var port in options.IncludeInboundPorts)
        {
            yield return $"-p tcp -m tcp --dport {Num(port)} -j {target}";
        }
    }

    private static List<string> OutputRules(InterceptionOptions options, IpFamily family, string loopback, string inboundSource)
    {
        var rules = new List<string> { $"-s {inboundSource} -o lo -j RETURN" };
        foreach (var (kind, id) in new[] { ("uid", options.ProxyUid), ("gid", options.ProxyGid) })
        {
            var owner = $"--{kind}-owner {id.ToString(CultureInfo.InvariantCulture)}";

            // The proxy calling its own pod's address over lo goes through the inbound side, like any caller.
            rules.Add($"! -d {loopback} -o lo -p tcp -m owner {owner} -j {InRedirect}");

            // The application talking to itself over lo is left alone.
            rules.Add($"-o lo -m owner ! {owner} -j RETURN");

            // The proxy's own upstream connections are never captured (no loops).
            rules.Add($"-m owner {owner} -j RETURN");
        }

        rules.Add($"-d {loopback} -j RETURN");
        foreach (var port in options.ExcludeOutboundPorts)
        {
            rules.Add($"-p tcp -m tcp --dport {Num(port)} -j RETURN");
        }

        foreach (var cidr in options.ExcludeOutboundCidrs)
        {
            if (cidr.Family == family)
            {
                rules.Add($"-d {cidr} -j RETURN");
            }
        }

        if (options.IncludeOutboundCidrs is null)
        {
            rules.Add($"-j {Redirect}");
        }
        else
        {
            foreach (var cidr in options.IncludeOutboundCidrs)
            {
                if (cidr.Family == family)
                {
                    rules.Add($"-d {cidr} -j {Redirect}");
                }
            }
        }

        return rules;
    }

    private static string Num(int value) => value.ToString(CultureInfo.InvariantCulture);
}
