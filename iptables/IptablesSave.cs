namespace Herald.Iptables;

/// <summary>The parsed output of <c>iptables-save</c>: per table, chains in order with their rules (counters dropped).</summary>
public sealed class IptablesSave
{
    private readonly Dictionary<string, SavedTable> _tables = new(StringComparer.Ordinal);

    public IReadOnlyDictionary<string, SavedTable> Tables => _tables;

    public SavedTable Table(string name) => _tables.TryGetValue(name, out var table) ? table : new SavedTable(name);

    public static IptablesSave Parse(string text)
    {
        var save = new IptablesSave();
        SavedTable? current = null;
        foreach (var rawLine in text.Split('\n'))
        {
            var line = rawLine.TrimEnd('\r');
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }

            if (line.StartsWith('*'))
            {
                current = new SavedTable(line[1..]);
                save._tables[current.Name] = current;
            }
            else if (line == "COMMIT")
            {
                current = null;
            }
            else if (current is null)
            {
                throw new FormatException($"iptables-save line outside a table: '{line}'");
            }
            else if (line.StartsWith(':'))
            {
                var parts = line[1..].Split(' ');
                current.AddChain(parts[0], builtin: parts.Length > 1 && parts[1] != "-");
            }
            else if (line.StartsWith("-A ", StringComparison.Ordinal))
            {
                var rest = line[3..];
                var space = rest.IndexOf(' ', StringComparison.Ordinal);
                var chain = space < 0 ? rest : rest[..space];
                current.AddRule(chain, space < 0 ? string.Empty : rest[(space + 1)..]);
            }
            else
            {
                throw new FormatException($"unexpected iptables-save line: '{line}'");
            }
        }

        return save;
    }
}

/// <summary>One table of an <see cref="IptablesSave"/>.</summary>
public sealed class SavedTable(string name)
{
    private readonly List<string> _chainOrder = [];
    private readonly Dictionary<string, List<string>> _rules = new(StringComparer.Ordinal);
    private readonly HashSet<string> _builtins = new(StringComparer.Ordinal);

    public string Name { get; } = name;

    public IReadOnlyList<string> Chains => _chainOrder;

    public bool IsBuiltin(string chain) => _builtins.Contains(chain);

    public bool HasChain(string chain) => _rules.ContainsKey(chain);

    public IReadOnlyList<string> Rules(string chain) => _rules.TryGetValue(chain, out var rules) ? rules : [];

    internal void AddChain(string chain, bool builtin)
    {
        if (!_rules.ContainsKey(chain))
        {
            _chainOrder.Add(chain);
            _rules[chain] = [];
        }

        if (builtin)
        {
            _builtins.Add(chain);
        }
    }

    internal void AddRule(string chain, string rule)
    {
        AddChain(chain, builtin: false);
        _rules[chain].Add(rule);
    }

    /// <summary>The chain a rule jumps or goes to, or null.</summary>
    public static string? Target(string rule)
    {
        var tokens = rule.Split(' ');
        for (var i = 0; i + 1 < tokens.Length; i++)
        {
            if (tokens[i] is "-j" or "-g")
            {
                return tokens[i + 1];
            }
        }

        return null;
    }
}
