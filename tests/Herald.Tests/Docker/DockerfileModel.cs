using System.Text.Json;

namespace Herald.Tests.Docker;

/// <summary>One instruction of a Dockerfile: its keyword (upper case) and the rest of its logical line.</summary>
internal sealed record DockerInstruction(string Keyword, string Arguments, int Line)
{
    /// <summary>The JSON array form's elements (<c>["a", "b"]</c>), or null for the shell form.</summary>
    public static IReadOnlyList<string>? ExecForm(string arguments)
    {
        var text = arguments.Trim();
        return text.StartsWith('[') ? JsonSerializer.Deserialize<List<string>>(text) : null;
    }
}

/// <summary>A build stage: its base image as written, its name, and its instructions.</summary>
internal sealed record DockerStage(string From, string? Name, int Line, IReadOnlyList<DockerInstruction> Instructions)
{
    public IEnumerable<DockerInstruction> All(string keyword) => Instructions.Where(i => i.Keyword == keyword);
}

/// <summary>
/// A Dockerfile read the way the builder reads it, well enough to lint it here, where no
/// container engine runs: comments dropped, backslash continuations joined, global ARG
/// defaults substituted into FROM lines, instructions grouped by stage.
/// </summary>
internal sealed class DockerfileModel
{
    private DockerfileModel(string path, IReadOnlyDictionary<string, string> globalArgs, IReadOnlyList<DockerStage> stages)
    {
        Path = path;
        GlobalArgs = globalArgs;
        Stages = stages;
    }

    public string Path { get; }

    public IReadOnlyDictionary<string, string> GlobalArgs { get; }

    public IReadOnlyList<DockerStage> Stages { get; }

    public DockerStage Final => Stages[^1];

    public static DockerfileModel Load(string path)
    {
        var globalArgs = new Dictionary<string, string>(StringComparer.Ordinal);
        var stages = new List<DockerStage>();
        List<DockerInstruction>? current = null;
        string? from = null;
        string? name = null;
        var fromLine = 0;
        foreach (var (text, line) in LogicalLines(File.ReadAllLines(path)))
        {
            var space = text.IndexOfAny([' ', '\t']);
            var keyword = (space < 0 ? text : text[..space]).ToUpperInvariant();
            var arguments = space < 0 ? string.Empty : text[(space + 1)..].Trim();
            if (keyword == "FROM")
            {
                if (current is not null)
                {
                    stages.Add(new DockerStage(from!, name, fromLine, current));
                }

                var words = arguments.Split(' ', StringSplitOptions.RemoveEmptyEntries).Where(w => !w.StartsWith("--", StringComparison.Ordinal)).ToArray();
                from = Substitute(words[0], globalArgs);
                name = words.Length >= 3 && words[1].Equals("AS", StringComparison.OrdinalIgnoreCase) ? words[2] : null;
                fromLine = line;
                current = [];
            }
            else if (current is null)
            {
                if (keyword != "ARG")
                {
                    throw new InvalidOperationException($"{path}:{line}: only ARG may come before the first FROM");
                }

                var eq = arguments.IndexOf('=', StringComparison.Ordinal);
                globalArgs[eq < 0 ? arguments : arguments[..eq]] = eq < 0 ? string.Empty : arguments[(eq + 1)..];
            }
            else
            {
                current.Add(new DockerInstruction(keyword, arguments, line));
            }
        }

        if (current is null)
        {
            throw new InvalidOperationException($"{path}: no FROM");
        }

        stages.Add(new DockerStage(from!, name, fromLine, current));
        return new DockerfileModel(path, globalArgs, stages);
    }

    private static string Substitute(string text, IReadOnlyDictionary<string, string> args)
    {
        foreach (var (key, value) in args)
        {
            text = text.Replace("${" + key + "}", value, StringComparison.Ordinal).Replace("$" + key, value, StringComparison.Ordinal);
        }

        return text;
    }

    private static IEnumerable<(string Text, int Line)> LogicalLines(string[] lines)
    {
        var buffer = new List<string>();
        var start = 0;
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i].Trim();
            if (line.StartsWith('#') || (line.Length == 0 && buffer.Count > 0))
            {
                continue;
            }

            if (line.Length == 0)
            {
                continue;
            }

            if (buffer.Count == 0)
            {
                start = i + 1;
            }

            if (line.EndsWith('\\'))
            {
                buffer.Add(line[..^1].Trim());
                continue;
            }

            buffer.Add(line);
            yield return (string.Join(' ', buffer), start);
            buffer.Clear();
        }

        if (buffer.Count > 0)
        {
            yield return (string.Join(' ', buffer), start);
        }
    }
}
