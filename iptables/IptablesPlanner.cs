using System.Text;

namespace Herald.Iptables;

/// <summary>
/// Compares the live tables with Herald's desired chains and writes the smallest restore
/// script that repairs them. Only chains named HERALD_* and the jumps into them from builtin
/// chains are ever touched; everything else in the tables is left as it is.
/// </summary>
public static class IptablesPlanner
{
    public static IptablesPlan PlanInstall(IptablesRuleSet desired, IptablesSave live)
    {
        var drift = new List<string>();
        var script = new StringBuilder();
        foreach (var table in desired.Tables)
        {
            var saved = live.Table(table.Name);
            var declare = new List<string>();
            var deletes = new List<string>();
            var appends = new List<string>();
            var inserts = new List<string>();
            var removes = new List<string>();
            var wanted = new HashSet<string>(StringComparer.Ordinal);

            foreach (var chain in table.Chains)
            {
                wanted.Add(chain.Name);
                if (!saved.HasChain(chain.Name))
                {
                    drift.Add($"{table.Name}/{chain.Name}: missing");
                }
                else if (!saved.Rules(chain.Name).SequenceEqual(chain.Rules, StringComparer.Ordinal))
                {
                    drift.Add($"{table.Name}/{chain.Name}: differs ({saved.Rules(chain.Name).Count} live rules, {chain.Rules.Count} expected)");
                }
                else
                {
                    continue;
                }

                declare.Add($":{chain.Name} - [0:0]");
                appends.AddRange(chain.Rules.Select(rule => $"-A {chain.Name} {rule}"));
            }

            foreach (var name in saved.Chains)
            {
                if (IsHerald(name) && !wanted.Contains(name))
                {
                    drift.Add($"{table.Name}/{name}: not expected, removed");
                    declare.Add($":{name} - [0:0]");
                    removes.Add($"-X {name}");
                }
            }

            var builtins = saved.Chains.Where(saved.IsBuiltin).Concat(table.Jumps.Select(j => j.BuiltinChain)).Distinct(StringComparer.Ordinal);
            foreach (var builtin in builtins)
            {
                var liveJumps = saved.Rules(builtin).Where(rule => IsHerald(SavedTable.Target(rule))).ToList();
                var wantedJumps = table.Jumps.Where(j => j.BuiltinChain == builtin).Select(j => j.Rule).ToList();
                if (liveJumps.SequenceEqual(wantedJumps, StringComparer.Ordinal))
                {
                    continue;
                }

                drift.Add($"{table.Name}/{builtin}: jumps into Herald's chains differ ({liveJumps.Count} live, {wantedJumps.Count} expected)");
                deletes.AddRange(liveJumps.Select(rule => $"-D {builtin} {rule}"));
                inserts.AddRange(wantedJumps.Select(rule => $"-I {builtin} 1 {rule}"));
            }

            if (declare.Count + deletes.Count + inserts.Count == 0)
            {
                continue;
            }

            AppendTable(script, table.Name, [.. declare, .. deletes, .. appends, .. inserts, .. removes]);
        }

        return new IptablesPlan(script.Length == 0 ? null : script.ToString(), drift);
    }

    public static IptablesPlan PlanUninstall(IptablesSave live)
    {
        var found = new List<string>();
        var script = new StringBuilder();
        foreach (var tableName in IptablesRuleSet.ManagedTables)
        {
            var saved = live.Table(tableName);
            var chains = saved.Chains.Where(name => IsHerald(name)).ToList();
            var deletes = new List<string>();
            foreach (var builtin in saved.Chains.Where(saved.IsBuiltin))
            {
                foreach (var rule in saved.Rules(builtin).Where(rule => IsHerald(SavedTable.Target(rule))))
                {
                    deletes.Add($"-D {builtin} {rule}");
                    found.Add($"{tableName}/{builtin}: jump '{rule}'");
                }
            }

            found.AddRange(chains.Select(name => $"{tableName}/{name}"));
            if (chains.Count + deletes.Count == 0)
            {
                continue;
            }

            AppendTable(script, tableName, [.. chains.Select(name => $":{name} - [0:0]"), .. deletes, .. chains.Select(name => $"-X {name}")]);
        }

        return new IptablesPlan(script.Length == 0 ? null : script.ToString(), found);
    }

    /// <summary>The restore script of a fresh install, as <c>print</c> shows it.</summary>
    public static string RenderFresh(IptablesRuleSet desired)
    {
        var script = new StringBuilder();
        foreach (var table in desired.Tables)
        {
            if (table.Chains.Count == 0 && table.Jumps.Count == 0)
            {
                continue;
            }

            var lines = new List<string>();
            lines.AddRange(table.Chains.Select(chain => $":{chain.Name} - [0:0]"));
            foreach (var chain in table.Chains)
            {
                lines.AddRange(chain.Rules.Select(rule => $"-A {chain.Name} {rule}"));
            }

            lines.AddRange(table.Jumps.Select(jump => $"-I {jump.BuiltinChain} 1 {jump.Rule}"));
            AppendTable(script, table.Name, lines);
        }

        return script.ToString();
    }

    private static bool IsHerald(string? chain) => chain is not null && chain.StartsWith(IptablesRuleSet.ChainPrefix, StringComparison.Ordinal);

    private static void AppendTable(StringBuilder script, string table, IEnumerable<string> lines)
    {
        script.Append('*').Append(table).Append('\n');
        foreach (var line in lines)
        {
            script.Append(line).Append('\n');
        }

        script.Append("COMMIT\n");
    }
}
