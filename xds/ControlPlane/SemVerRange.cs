namespace Herald.Xds.ControlPlane;

/// <summary>
/// A version range in the notation npm and Cargo users know: comparisons (<c>&gt;=2.0 &lt;3</c>),
/// caret (<c>^1.2</c>), tilde (<c>~1.4</c>), x-ranges (<c>1.x</c>, <c>1.2.*</c>, <c>*</c>),
/// hyphen ranges (<c>1.2 - 2</c>) and alternatives joined by <c>||</c>. A pre-release version
/// only matches when a comparator of its set names the same major.minor.patch with a pre-release.
/// </summary>
public sealed class SemVerRange
{
    private readonly List<List<Comparator>> _sets;

    private SemVerRange(string text, List<List<Comparator>> sets)
    {
        Text = text;
        _sets = sets;
    }

    public string Text { get; }

    public static SemVerRange Parse(string text) =>
        TryParse(text, out var range, out var error) ? range! : throw new FormatException(error);

    public static bool TryParse(string? text, out SemVerRange? range, out string? error)
    {
        range = null;
        error = null;
        if (string.IsNullOrWhiteSpace(text))
        {
            error = "a version range must not be empty";
            return false;
        }

        var sets = new List<List<Comparator>>();
        foreach (var alternative in text.Split("||"))
        {
            var set = new List<Comparator>();
            if (!TryParseSet(alternative.Trim(), set, out error))
            {
                error = $"'{text}' is not a version range: {error}";
                return false;
            }

            sets.Add(set);
        }

        range = new SemVerRange(text.Trim(), sets);
        return true;
    }

    public bool IsSatisfiedBy(SemVersion version)
    {
        ArgumentNullException.ThrowIfNull(version);
        foreach (var set in _sets)
        {
            if (SetMatches(set, version))
            {
                return true;
            }
        }

        return false;
    }

    public override string ToString() => Text;

    private static bool SetMatches(List<Comparator> set, SemVersion version)
    {
        foreach (var comparator in set)
        {
            if (!comparator.Matches(version))
            {
                return false;
            }
        }

        if (version.PreRelease.Length == 0)
        {
            return true;
        }

        foreach (var comparator in set)
        {
            var v = comparator.Version;
            if (v.PreRelease.Length > 0 && v.Major == version.Major && v.Minor == version.Minor && v.Patch == version.Patch)
            {
                return true;
            }
        }

        return false;
    }

    private static bool TryParseSet(string text, List<Comparator> set, out string? error)
    {
        error = null;
        if (text.Length == 0)
        {
            set.Add(new Comparator(Op.GreaterOrEqual, SemVersion.Create(0, 0, 0)));
            return true;
        }

        // Glue operators to their version: ">= 2.0" is ">=2.0".
        var tokens = new List<string>();
        var raw = text.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        for (var i = 0; i < raw.Length; i++)
        {
            var token = raw[i];
            if (token is ">" or ">=" or "<" or "<=" or "=" or "^" or "~" && i + 1 < raw.Length)
            {
                token += raw[++i];
            }

            tokens.Add(token);
        }

        if (tokens.Count == 3 && tokens[1] == "-")
        {
            if (!TryPartial(tokens[0], out var low, out error) || !TryPartial(tokens[2], out var high, out error))
            {
                return false;
            }

            set.Add(new Comparator(Op.GreaterOrEqual, low.Floor()));
            AddUpperInclusive(set, high);
            return true;
        }

        foreach (var token in tokens)
        {
            if (!TryComparator(token, set, out error))
            {
                return false;
            }
        }

        return true;
    }

    private static bool TryComparator(string token, List<Comparator> set, out string? error)
    {
        string op;
        if (token.StartsWith(">=", StringComparison.Ordinal) || token.StartsWith("<=", StringComparison.Ordinal))
        {
            op = token[..2];
        }
        else if (token[0] is '>' or '<' or '=' or '^' or '~')
        {
            op = token[..1];
        }
        else
        {
            op = string.Empty;
        }

        if (!TryPartial(token[op.Length..], out var p, out error))
        {
            return false;
        }

        switch (op)
        {
            case "^":
                set.Add(new Comparator(Op.GreaterOrEqual, p.Floor()));
                if (p.Major is null)
                {
                    break;
                }

                if (p.Major > 0 || p.Minor is null)
                {
                    set.Add(new Comparator(Op.Less, SemVersion.Create(p.Major.Value + 1, 0, 0)));
                }
                else if (p.Minor > 0 || p.Patch is null)
                {
                    set.Add(new Comparator(Op.Less, SemVersion.Create(0, p.Minor.Value + 1, 0)));
                }
                else
                {
                    set.Add(new Comparator(Op.Less, SemVersion.Create(0, 0, p.Patch.Value + 1)));
                }

                break;
            case "~":
                set.Add(new Comparator(Op.GreaterOrEqual, p.Floor()));
                if (p.Major is null)
                {
                    break;
                }

                set.Add(p.Minor is null
                    ? new Comparator(Op.Less, SemVersion.Create(p.Major.Value + 1, 0, 0))
                    : new Comparator(Op.Less, SemVersion.Create(p.Major.Value, p.Minor.Value + 1, 0)));
                break;
            case ">=":
                set.Add(new Comparator(Op.GreaterOrEqual, p.Floor()));
                break;
            case ">":
                if (p.IsFull)
                {
                    set.Add(new Comparator(Op.Greater, p.Floor()));
                }
                else if (p.Major is null)
                {
                    set.Add(new Comparator(Op.Less, SemVersion.Create(0, 0, 0)));
                }
                else
                {
                    set.Add(new Comparator(Op.GreaterOrEqual, p.Ceiling()!));
                }

                break;
            case "<":
                set.Add(new Comparator(Op.Less, p.Major is null ? SemVersion.Create(0, 0, 0) : p.Floor()));
                break;
            case "<=":
                AddUpperInclusive(set, p);
                break;
            default:
                if (p.IsFull)
                {
                    set.Add(new Comparator(Op.Equal, p.Floor()));
                }
                else
                {
                    set.Add(new Comparator(Op.GreaterOrEqual, p.Floor()));
                    if (p.Major is not null)
                    {
                        set.Add(new Comparator(Op.Less, p.Ceiling()!));
                    }
                }

                break;
        }

        return true;
    }

    private static void AddUpperInclusive(List<Comparator> set, Partial p)
    {
        if (p.IsFull)
        {
            set.Add(new Comparator(Op.LessOrEqual, p.Floor()));
        }
        else if (p.Major is not null)
        {
            set.Add(new Comparator(Op.Less, p.Ceiling()!));
        }
    }

    private static bool TryPartial(string text, out Partial partial, out string? error)
    {
        partial = default;
        error = null;
        var s = text.Trim();
        if (s.Length > 0 && s[0] is 'v' or 'V')
        {
            s = s[1..];
        }

        if (s.Length == 0)
        {
            error = "a comparator has no version";
            return false;
        }

        var plus = s.IndexOf('+', StringComparison.Ordinal);
        if (plus >= 0)
        {
            s = s[..plus];
        }

        var pre = string.Empty;
        var dash = s.IndexOf('-', StringComparison.Ordinal);
        if (dash >= 0)
        {
            pre = s[(dash + 1)..];
            s = s[..dash];
        }

        var parts = s.Split('.');
        if (parts.Length > 3)
        {
            error = $"'{text}' has more than three numbers";
            return false;
        }

        var numbers = new int?[3];
        var wild = false;
        for (var i = 0; i < parts.Length; i++)
        {
            if (parts[i] is "x" or "X" or "*")
            {
                wild = true;
                continue;
            }

            if (wild || !SemVersion.TryNumber(parts[i], out var n))
            {
                error = $"'{text}' is not a version";
                return false;
            }

            numbers[i] = n;
        }

        if (pre.Length > 0 && (numbers[2] is null || !SemVersion.TryParse($"0.0.0-{pre}", out _)))
        {
            error = $"'{text}' has a pre-release on an incomplete version";
            return false;
        }

        partial = new Partial(numbers[0], numbers[1], numbers[2], pre);
        return true;
    }

    private enum Op
    {
        Equal,
        Less,
        LessOrEqual,
        Greater,
        GreaterOrEqual,
    }

    private readonly record struct Partial(int? Major, int? Minor, int? Patch, string PreRelease)
    {
        public bool IsFull => Major is not null && Minor is not null && Patch is not null;

        public SemVersion Floor() => SemVersion.Create(Major ?? 0, Minor ?? 0, Patch ?? 0, PreRelease);

        // The first version above everything this partial names: 1.2 -> 1.3.0, 1 -> 2.0.0.
        public SemVersion? Ceiling() => Major is null
            ? null
            : Minor is null
                ? SemVersion.Create(Major.Value + 1, 0, 0)
                : Patch is null
                    ? SemVersion.Create(Major.Value, Minor.Value + 1, 0)
                    : SemVersion.Create(Major.Value, Minor.Value, Patch.Value + 1);
    }

    private readonly record struct Comparator(Op Operator, SemVersion Version)
    {
        public bool Matches(SemVersion v)
        {
            var c = v.CompareTo(Version);
            return Operator switch
            {
                Op.Equal => c == 0,
                Op.Less => c < 0,
                Op.LessOrEqual => c <= 0,
                Op.Greater => c > 0,
                _ => c >= 0,
            };
        }
    }
}
