using System.Globalization;

namespace Herald.Iptables;

/// <summary>
/// Turns <c>herald iptables</c> flags into <see cref="InterceptionOptions"/>. Every problem
/// throws <see cref="InterceptionUsageException"/> naming the flag, before anything is applied.
/// </summary>
public static class InterceptionOptionsParser
{
    public const string Flags = """
          --proxy-port PORT               outbound capture port (default 15001)
          --inbound-port PORT             inbound capture port (default 15006)
          --proxy-uid UID                 the proxy's user, never captured (default 1337)
          --proxy-gid GID                 the proxy's group, never captured (default 1337)
          --inbound-mode REDIRECT|TPROXY  how inbound reaches the proxy (default REDIRECT)
          --backend iptables|nft          rule backend (default iptables)
          --include-inbound-ports LIST    inbound ports to capture, "*" for all, "" for none (default "*")
          --exclude-inbound-ports LIST    more inbound ports to leave alone (15020,15021,15090 always are)
          --exclude-outbound-ports LIST   outbound destination ports to leave alone
          --include-outbound-cidrs LIST   outbound destinations to capture, "*" for all (default "*")
          --exclude-outbound-cidrs LIST   outbound destinations to leave alone
          --no-ipv6                       IPv4 rules only
        """;

    public static InterceptionOptions Parse(IReadOnlyList<string> args)
    {
        var options = new InterceptionOptions();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            string flag;
            string? inlineValue = null;
            var eq = arg.IndexOf('=', StringComparison.Ordinal);
            if (arg.StartsWith("--", StringComparison.Ordinal) && eq > 0)
            {
                flag = arg[..eq];
                inlineValue = arg[(eq + 1)..];
            }
            else
            {
                flag = arg;
            }

            if (!seen.Add(flag))
            {
                throw new InterceptionUsageException(flag, "given more than once");
            }

            if (flag == "--no-ipv6")
            {
                if (inlineValue is not null)
                {
                    throw new InterceptionUsageException(flag, "takes no value");
                }

                options = options with { Ipv6 = false };
                continue;
            }

            if (!IsValueFlag(flag))
            {
                throw new InterceptionUsageException(arg, "unknown flag");
            }

            string value;
            if (inlineValue is not null)
            {
                value = inlineValue;
            }
            else if (i + 1 < args.Count)
            {
                value = args[++i];
            }
            else
            {
                throw new InterceptionUsageException(flag, "needs a value");
            }

            options = Apply(options, flag, value);
        }

        if (options.ProxyPort == options.InboundPort)
        {
            throw new InterceptionUsageException("--inbound-port", $"must differ from --proxy-port ({options.ProxyPort})");
        }

        return options;
    }

    private static bool IsValueFlag(string flag) => flag is "--proxy-port" or "--inbound-port" or "--proxy-uid" or "--proxy-gid"
        or "--inbound-mode" or "--backend" or "--include-inbound-ports" or "--exclude-inbound-ports"
        or "--exclude-outbound-ports" or "--include-outbound-cidrs" or "--exclude-outbound-cidrs";

    private static InterceptionOptions Apply(InterceptionOptions options, string flag, string value) => flag switch
    {
        "--proxy-port" => options with { ProxyPort = ParsePort(flag, value) },
        "--inbound-port" => options with { InboundPort = ParsePort(flag, value) },
        "--proxy-uid" => options with { ProxyUid = ParseId(flag, value) },
        "--proxy-gid" => options with { ProxyGid = ParseId(flag, value) },
        "--inbound-mode" => options with { InboundMode = ParseMode(flag, value) },
        "--backend" => options with { Backend = ParseBackend(flag, value) },
        "--include-inbound-ports" => options with { IncludeInboundPorts = value.Trim() == "*" ? null : ParsePorts(flag, value) },
        "--exclude-inbound-ports" => options with
        {
            ExcludeInboundPorts = [.. InterceptionOptions.DefaultExcludedInboundPorts.Concat(ParsePorts(flag, value)).Distinct().Order()],
        },
        "--exclude-outbound-ports" => options with { ExcludeOutboundPorts = ParsePorts(flag, value) },
        "--include-outbound-cidrs" => options with { IncludeOutboundCidrs = value.Trim() == "*" ? null : ParseCidrs(flag, value) },
        "--exclude-outbound-cidrs" => options with { ExcludeOutboundCidrs = ParseCidrs(flag, value) },
        _ => throw new InterceptionUsageException(flag, "unknown flag"),
    };

    private static int ParsePort(string flag, string text)
    {
        var trimmed = text.Trim();
        if (trimmed.Length is 0 or > 5 || !trimmed.All(char.IsAsciiDigit)
            || !int.TryParse(trimmed, NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
        {
            throw new InterceptionUsageException(flag, $"'{text}' is not a port (1-65535)");
        }

        return port;
    }

    private static uint ParseId(string flag, string text)
    {
        var trimmed = text.Trim();
        if (trimmed.Length is 0 or > 10 || !trimmed.All(char.IsAsciiDigit)
            || !uint.TryParse(trimmed, NumberStyles.None, CultureInfo.InvariantCulture, out var id) || id == uint.MaxValue)
        {
            throw new InterceptionUsageException(flag, $"'{text}' is not a numeric id");
        }

        return id;
    }

    private static InboundMode ParseMode(string flag, string text) => text.Trim().ToUpperInvariant() switch
    {
        "REDIRECT" => InboundMode.Redirect,
        "TPROXY" => InboundMode.Tproxy,
        _ => throw new InterceptionUsageException(flag, $"'{text}' is not a mode (REDIRECT or TPROXY)"),
    };

    private static Backend ParseBackend(string flag, string text) => text.Trim().ToLowerInvariant() switch
    {
        "iptables" => Backend.Iptables,
        "nft" or "nftables" => Backend.Nft,
        _ => throw new InterceptionUsageException(flag, $"'{text}' is not a backend (iptables or nft)"),
    };

    /// <summary>A comma-separated list; empty means none. Sorted and deduplicated so rendering is deterministic.</summary>
    private static IReadOnlyList<int> ParsePorts(string flag, string text)
    {
        if (text.Trim().Length == 0)
        {
            return [];
        }

        if (text.Trim() == "*")
        {
            throw new InterceptionUsageException(flag, "'*' is not allowed here; list ports");
        }

        return [.. text.Split(',').Select(p => ParsePort(flag, p)).Distinct().Order()];
    }

    private static List<Cidr> ParseCidrs(string flag, string text)
    {
        if (text.Trim().Length == 0)
        {
            return [];
        }

        var cidrs = new List<Cidr>();
        foreach (var part in text.Split(','))
        {
            var cidr = Cidr.TryParse(part.Trim())
                ?? throw new InterceptionUsageException(flag, $"'{part.Trim()}' is not a CIDR (like 10.0.0.0/8 or fd00::/8)");
            if (!cidrs.Contains(cidr))
            {
                cidrs.Add(cidr);
            }
        }

        return cidrs;
    }
}
