namespace Herald.Proxy.Cli;

/// <summary>Parses <c>--name value</c> pairs and bare <c>--flag</c>s against a fixed set.</summary>
internal sealed class CliArguments
{
    private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);
    private readonly HashSet<string> _flags = new(StringComparer.Ordinal);

    private CliArguments()
    {
    }

    /// <summary>Null and a message when an option is unknown or lacks its value.</summary>
    public static CliArguments? Parse(string[] args, IReadOnlyCollection<string> options, IReadOnlyCollection<string> flags, out string? error)
    {
        var result = new CliArguments();
        error = null;
        for (var i = 0; i < args.Length; i++)
        {
            var arg = args[i];
            if (flags.Contains(arg))
            {
                result._flags.Add(arg);
            }
            else if (options.Contains(arg) && i + 1 < args.Length)
            {
                result._values[arg] = args[++i];
            }
            else
            {
                error = options.Contains(arg) ? $"option '{arg}' needs a value" : $"unknown option '{arg}'";
                return null;
            }
        }

        return result;
    }

    public string? this[string option] => _values.GetValueOrDefault(option);

    public bool Has(string flag) => _flags.Contains(flag);
}
