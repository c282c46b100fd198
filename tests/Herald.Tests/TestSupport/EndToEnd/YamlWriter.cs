using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Herald.Tests.TestSupport.EndToEnd;

/// <summary>
/// Writes a JSON tree as block-style YAML, the way Envoy bootstraps are usually written.
/// Strings are double-quoted (JSON escapes are valid YAML escapes), so no value can be
/// mistaken for another YAML type.
/// </summary>
public static partial class YamlWriter
{
    private static readonly JsonSerializerOptions StringOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static string Write(JsonObject root)
    {
        var sb = new StringBuilder();
        WriteObject(sb, root, 0, firstLinePrefix: null);
        return sb.ToString();
    }

    private static void WriteObject(StringBuilder sb, JsonObject obj, int indent, string? firstLinePrefix)
    {
        var first = true;
        foreach (var (key, value) in obj)
        {
            if (first && firstLinePrefix is not null)
            {
                sb.Append(firstLinePrefix);
            }
            else
            {
                sb.Append(' ', indent);
            }

            first = false;
            sb.Append(Key(key)).Append(':');
            WriteValue(sb, value, indent);
        }

        if (first)
        {
            sb.Append(firstLinePrefix ?? new string(' ', indent)).Append("{}\n");
        }
    }

    private static void WriteValue(StringBuilder sb, JsonNode? value, int indent)
    {
        switch (value)
        {
            case JsonObject { Count: 0 }:
                sb.Append(" {}\n");
                break;
            case JsonObject child:
                sb.Append('\n');
                WriteObject(sb, child, indent + 2, firstLinePrefix: null);
                break;
            case JsonArray { Count: 0 }:
                sb.Append(" []\n");
                break;
            case JsonArray array:
                sb.Append('\n');
                WriteArray(sb, array, indent);
                break;
            default:
                sb.Append(' ').Append(Scalar(value)).Append('\n');
                break;
        }
    }

    private static void WriteArray(StringBuilder sb, JsonArray array, int indent)
    {
        foreach (var item in array)
        {
            var prefix = new string(' ', indent) + "- ";
            switch (item)
            {
                case JsonObject { Count: > 0 } obj:
                    WriteObject(sb, obj, indent + 2, prefix);
                    break;
                case JsonArray { Count: > 0 } nested:
                    sb.Append(prefix.TrimEnd()).Append('\n');
                    WriteArray(sb, nested, indent + 2);
                    break;
                case JsonObject:
                    sb.Append(prefix).Append("{}\n");
                    break;
                case JsonArray:
                    sb.Append(prefix).Append("[]\n");
                    break;
                default:
                    sb.Append(prefix).Append(Scalar(item)).Append('\n');
                    break;
            }
        }
    }

    private static string Key(string key) => PlainKey().IsMatch(key) ? key : JsonSerializer.Serialize(key, StringOptions);

    // A scalar's JSON text: strings double-quoted with JSON escapes, numbers and booleans bare.
    private static string Scalar(JsonNode? value) => value is null ? "null" : value.ToJsonString(StringOptions);

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_.]*$")]
    private static partial Regex PlainKey();
}
