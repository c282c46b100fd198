using System.Buffers;
using System.Text;
using System.Text.RegularExpressions;
using Herald.Proxy.Config;

namespace Herald.Proxy.Http.Routing;

/// <summary>
/// Envoy's safe_regex (RE2) on .NET: linear-time NonBacktracking regexes compiled once at
/// translate time, matched against request bytes decoded into a pooled char buffer.
/// </summary>
internal static class RegexBytes
{
    private const RegexOptions Options = RegexOptions.NonBacktracking | RegexOptions.CultureInvariant;
    private const int StackLimit = 256;

    /// <summary>A regex that must match the whole value, as RE2::FullMatch does in Envoy.</summary>
    public static Regex CompileFullMatch(string pattern, string fieldPath) =>
        Compile(@"\A(?:" + ToDotNet(pattern) + @")\z", pattern, fieldPath);

    /// <summary>A regex used for search and replace (regex_rewrite).</summary>
    public static Regex CompileSearch(string pattern, string fieldPath) =>
        Compile(ToDotNet(pattern), pattern, fieldPath);

    public static bool IsMatch(Regex regex, ReadOnlySpan<byte> value)
    {
        char[]? rented = null;
        Span<char> chars = value.Length <= StackLimit
            ? stackalloc char[StackLimit]
            : (rented = ArrayPool<char>.Shared.Rent(value.Length));
        try
        {
            var count = Encoding.UTF8.GetChars(value, chars);
            return regex.IsMatch(chars[..count]);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<char>.Shared.Return(rented);
            }
        }
    }

    /// <summary>
    /// Turns an RE2 substitution (<c>\1</c> back-references, <c>\\</c>) into .NET's
    /// replacement syntax, where <c>$</c> is special and must be doubled.
    /// </summary>
    public static string ToDotNetSubstitution(string substitution, string fieldPath)
    {
        var builder = new StringBuilder(substitution.Length + 8);
        for (var i = 0; i < substitution.Length; i++)
        {
            var c = substitution[i];
            if (c == '$')
            {
                builder.Append("$$");
            }
            else if (c == '\\')
            {
                if (i + 1 >= substitution.Length)
                {
                    throw new ConfigException(fieldPath, "the substitution ends with a lone backslash", @"Write \\ for a literal backslash");
                }

                var next = substitution[++i];
                if (next is >= '0' and <= '9')
                {
                    builder.Append("${").Append(next).Append('}');
                }
                else if (next == '\\')
                {
                    builder.Append('\\');
                }
                else
                {
                    throw new ConfigException(fieldPath, $"'\\{next}' is not a valid escape in a substitution", @"Use \0-\9 for groups or \\ for a backslash");
                }
            }
            else
            {
                builder.Append(c);
            }
        }

        return builder.ToString();
    }

    private static Regex Compile(string dotNetPattern, string original, string fieldPath)
    {
        if (original.Length == 0)
        {
            throw new ConfigException(fieldPath, "the regex is empty", "Set a regular expression");
        }

        try
        {
            return new Regex(dotNetPattern, Options);
        }
        catch (ArgumentException e)
        {
            throw new ConfigException(fieldPath, $"invalid regex '{original}': {e.Message}", "Fix the regular expression (RE2 syntax)");
        }
        catch (NotSupportedException e)
        {
            throw new ConfigException(fieldPath, $"regex '{original}' uses a construct Herald cannot run in linear time: {e.Message}", "Remove back-references and look-arounds (RE2 has none either)");
        }
    }

    // RE2 spells named groups (?P<name>...); .NET spells them (?<name>...).
    private static string ToDotNet(string pattern) => pattern.Replace("(?P<", "(?<", StringComparison.Ordinal);
}
