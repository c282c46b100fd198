namespace Herald.Iptables;

/// <summary>
/// Applies, verifies and removes Herald's interception rules. Each family's change is one
/// atomic <c>iptables-restore --noflush</c> (or one <c>nft -f</c> transaction); install
/// compares the live state with the rendered one first, so a second install changes nothing
/// and tampering is reported and repaired. Only Herald's chains, the jumps into them, the
/// <c>inet herald</c> table and the TPROXY mark route are ever touched.
/// </summary>
public sealed class InterceptionInstaller(ICommandRunner runner, Func<bool>? kernelHasIpv6 = null)
{
    private readonly Func<bool> _kernelHasIpv6 = kernelHasIpv6 ?? (() => File.Exists("/proc/net/if_inet6"));

    public InterceptionReport Install(InterceptionOptions options) => Converge(options, apply: true);

    /// <summary>Install's comparison without applying anything: the report's Drift is empty when all is in place.</summary>
    public InterceptionReport Verify(InterceptionOptions options) => Converge(options, apply: false);

    public InterceptionReport Uninstall(InterceptionOptions options)
    {
        var notes = new List<string>();
        var removed = new List<string>();
        foreach (var family in new[] { IpFamily.V4, IpFamily.V6 })
        {
            if (family == IpFamily.V6 && !_kernelHasIpv6())
            {
                continue;
            }

            var save = TrySave(family);
            if (save is null)
            {
                notes.Add($"{SaveTool(family)} not available: no {FamilyName(family)} iptables rules to remove");
                continue;
            }

            var plan = IptablesPlanner.PlanUninstall(save);
            if (plan.Script is not null)
            {
                Restore(family, plan.Script);
                removed.AddRange(plan.Drift.Select(d => $"{FamilyName(family)} {d}"));
            }
        }

        if (NftTableExists() is true)
        {
            MustRun("nft", ["delete", "table", NftRenderer.Family, NftRenderer.TableName]);
            removed.Add($"nft table {NftRenderer.Family} {NftRenderer.TableName}");
        }

        foreach (var family in RoutingFamilies())
        {
            var leftovers = TproxyRouting.Check(runner, options, family, wanted: false);
            if (leftovers.Count > 0)
            {
                TproxyRouting.Remove(runner, options, family);
                removed.AddRange(leftovers);
            }
        }

        return new InterceptionReport(removed.Count > 0, removed, notes);
    }

    private InterceptionReport Converge(InterceptionOptions options, bool apply)
    {
        var notes = new List<string>();
        var drift = new List<string>();
        if (options.Ipv6 && !_kernelHasIpv6())
        {
            notes.Add("IPv6: skipped, the kernel has no IPv6 (/proc/net/if_inet6 is missing)");
            options = options with { Ipv6 = false };
        }

        if (options.Backend == Backend.Iptables)
        {
            foreach (var family in InterceptionPrinter.Families(options))
            {
                var live = TrySave(family) ?? throw new InterceptionException($"{SaveTool(family)} failed or is missing: install iptables");
                var plan = IptablesPlanner.PlanInstall(IptablesRuleBuilder.Build(options, family), live);
                drift.AddRange(plan.Drift.Select(d => $"{FamilyName(family)} {d}"));
                if (apply && plan.Script is not null)
                {
                    Restore(family, plan.Script);
                    var after = IptablesPlanner.PlanInstall(IptablesRuleBuilder.Build(options, family), TrySave(family) ?? new IptablesSave());
                    if (after.Drift.Count > 0)
                    {
                        throw new InterceptionException($"{FamilyName(family)} rules differ after applying them: {string.Join("; ", after.Drift)}");
                    }
                }
            }

            // Switching backends must not leave the other one intercepting too.
            if (NftTableExists() is true)
            {
                drift.Add($"nft table {NftRenderer.Family} {NftRenderer.TableName}: not expected with --backend iptables, removed");
                if (apply)
                {
                    MustRun("nft", ["delete", "table", NftRenderer.Family, NftRenderer.TableName]);
                }
            }
        }
        else
        {
            var expected = NftRenderer.RenderTable(options);
            var live = ListNftTable();
            if (live is null)
            {
                drift.Add($"nft table {NftRenderer.Family} {NftRenderer.TableName}: missing");
            }
            else if (!string.Equals(Normalize(live), expected, StringComparison.Ordinal))
            {
                drift.Add($"nft table {NftRenderer.Family} {NftRenderer.TableName}: differs");
            }

            if (apply && (live is null || drift.Count > 0))
            {
                MustRun("nft", ["-f", "-"], NftRenderer.RenderScript(options));
                var after = ListNftTable();
                if (after is null || !string.Equals(Normalize(after), expected, StringComparison.Ordinal))
                {
                    notes.Add("nft lists the applied table differently from Herald's rendering (another nft version?): install will re-apply it each time");
                }
            }

            foreach (var family in new[] { IpFamily.V4, IpFamily.V6 })
            {
                if (family == IpFamily.V6 && !_kernelHasIpv6())
                {
                    continue;
                }

                var save = TrySave(family);
                var plan = save is null ? null : IptablesPlanner.PlanUninstall(save);
                if (plan?.Script is not null)
                {
                    drift.AddRange(plan.Drift.Select(d => $"{FamilyName(family)} {d}: not expected with --backend nft, removed"));
                    if (apply)
                    {
                        Restore(family, plan.Script);
                    }
                }
            }
        }

        foreach (var family in RoutingFamilies())
        {
            var wanted = options.InboundMode == InboundMode.Tproxy && (family == IpFamily.V4 || options.Ipv6);
            var routing = TproxyRouting.Check(runner, options, family, wanted);
            drift.AddRange(routing);
            if (apply && routing.Count > 0)
            {
                if (wanted)
                {
                    TproxyRouting.Ensure(runner, options, family);
                }
                else
                {
                    TproxyRouting.Remove(runner, options, family);
                }
            }
        }

        return new InterceptionReport(apply && drift.Count > 0, drift, notes);
    }

    private IEnumerable<IpFamily> RoutingFamilies() => _kernelHasIpv6() ? [IpFamily.V4, IpFamily.V6] : [IpFamily.V4];

    /// <summary>Both managed tables; <c>-t</c> is given so a table that does not exist yet reads as empty.</summary>
    private IptablesSave? TrySave(IpFamily family)
    {
        var text = new System.Text.StringBuilder();
        foreach (var table in IptablesRuleSet.ManagedTables)
        {
            var result = runner.Run(SaveTool(family), ["-t", table]);
            if (!result.Ok)
            {
                return null;
            }

            text.Append(result.Stdout);
        }

        return IptablesSave.Parse(text.ToString());
    }

    private void Restore(IpFamily family, string script)
    {
        var tool = family == IpFamily.V4 ? "iptables-restore" : "ip6tables-restore";
        var result = runner.Run(tool, ["--noflush"], script);
        if (!result.Ok)
        {
            throw new InterceptionException($"{tool} --noflush failed ({result.ExitCode}): {result.Stderr.Trim()}\n--- input ---\n{script}");
        }
    }

    /// <summary>True or false when nft answers; null when nft is not installed.</summary>
    private bool? NftTableExists()
    {
        var result = runner.Run("nft", ["list", "table", NftRenderer.Family, NftRenderer.TableName]);
        return result.ExitCode == CommandResult.NotFound ? null : result.Ok;
    }

    private string? ListNftTable()
    {
        var result = runner.Run("nft", ["list", "table", NftRenderer.Family, NftRenderer.TableName]);
        if (result.ExitCode == CommandResult.NotFound)
        {
            throw new InterceptionException("nft is not installed: install nftables or use --backend iptables");
        }

        return result.Ok ? result.Stdout : null;
    }

    private static string Normalize(string listing) => listing.Replace("\r", string.Empty, StringComparison.Ordinal).TrimEnd('\n') + "\n";

    private void MustRun(string program, IReadOnlyList<string> args, string? stdin = null)
    {
        var result = runner.Run(program, args, stdin);
        if (!result.Ok)
        {
            throw new InterceptionException($"{program} {string.Join(' ', args)} failed ({result.ExitCode}): {result.Stderr.Trim()}");
        }
    }

    private static string SaveTool(IpFamily family) => family == IpFamily.V4 ? "iptables-save" : "ip6tables-save";

    private static string FamilyName(IpFamily family) => family == IpFamily.V4 ? "IPv4" : "IPv6";
}
