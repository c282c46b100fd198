using Google.Protobuf;
using Google.Protobuf.Reflection;

namespace Herald.Proxy.Config;

/// <summary>
/// Herald never ignores configuration silently: every translator names the fields it
/// honours, and any other field that is set is an error naming that field.
/// </summary>
internal static class FieldPolicy
{
    /// <summary>
    /// Throws <see cref="ConfigException"/> for the first field of <paramref name="message"/>
    /// that is set and not in <paramref name="honoured"/> (proto field names, snake_case).
    /// </summary>
    public static void RequireOnly(IMessage message, string path, params ReadOnlySpan<string> honoured)
    {
        foreach (var field in message.Descriptor.Fields.InFieldNumberOrder())
        {
            if (!IsSet(field, message))
            {
                continue;
            }

            var allowed = false;
            foreach (var name in honoured)
            {
                if (string.Equals(name, field.Name, StringComparison.Ordinal))
                {
                    allowed = true;
                    break;
                }
            }

            if (!allowed)
            {
                throw new ConfigException(
                    Join(path, field.Name),
                    $"field '{field.Name}' of {message.Descriptor.FullName} is not supported by Herald",
                    "Remove it, or see docs/configuration.md for the fields Herald honours");
            }
        }
    }

    /// <summary>True when the field holds a value other than its default.</summary>
    public static bool IsSet(FieldDescriptor field, IMessage message)
    {
        var value = field.Accessor.GetValue(message);
        if (field.IsRepeated || field.IsMap)
        {
            return value is System.Collections.ICollection { Count: > 0 };
        }

        if (field.RealContainingOneof is not null || field.HasPresence)
        {
            return field.Accessor.HasValue(message);
        }

        return value switch
        {
            null => false,
            string s => s.Length > 0,
            ByteString b => b.Length > 0,
            bool b => b,
            int i => i != 0,
            long l => l != 0,
            uint u => u != 0,
            ulong ul => ul != 0,
            float f => f != 0,
            double d => d != 0,
            Enum e => Convert.ToInt32(e, System.Globalization.CultureInfo.InvariantCulture) != 0,
            _ => true,
        };
    }

    public static string Join(string path, string field) => path.Length == 0 ? field : path + "." + field;

    public static string Index(string path, string field, int index) => $"{Join(path, field)}[{index}]";
}
