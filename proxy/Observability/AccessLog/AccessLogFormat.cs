using System.Buffers;
using System.Globalization;
using System.Text;
using Herald.Proxy.Config;

namespace Herald.Proxy.Observability.AccessLog;

/// <summary>
/// An Envoy text access log format, parsed once into literal and operator segments.
/// Supports the operators of Envoy's default format, <c>%START_TIME%</c>, and
/// <c>%REQ(X)%</c> for the headers an <see cref="AccessLogEntry"/> carries; anything else
/// is refused when the config is loaded rather than printed wrong.
/// </summary>
internal sealed class AccessLogFormat
{
    /// <summary>Envoy's default access log format.</summary>
    public const string DefaultText =
        "[%START_TIME%] \"%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%\" " +
        "%RESPONSE_CODE% %RESPONSE_FLAGS% %BYTES_RECEIVED% %BYTES_SENT% %DURATION% " +
        "%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% \"%REQ(X-FORWARDED-FOR)%\" \"%REQ(USER-AGENT)%\" " +
        "\"%REQ(X-REQUEST-ID)%\" \"%REQ(:AUTHORITY)%\" \"%UPSTREAM_HOST%\"\n";

    private const string StartTimeFormat = "yyyy-MM-dd'T'HH:mm:ss.fff'Z'";
    private static readonly byte[] Dash = "-"u8.ToArray();

    private readonly Segment[] _segments;

    private AccessLogFormat(Segment[] segments)
    {
        _segments = segments;
    }

    public static AccessLogFormat Default { get; } = Parse(DefaultText, "access_log");

    /// <summary>Parses <paramref name="format"/>; <paramref name="fieldPath"/> names it in a <see cref="ConfigException"/>.</summary>
    public static AccessLogFormat Parse(string format, string fieldPath)
    {
        var segments = new List<Segment>();
        var literal = new StringBuilder();
        var i = 0;
        while (i < format.Length)
        {
            var c = format[i];
            if (c != '%')
            {
                literal.Append(c);
                i++;
                continue;
            }

            if (literal.Length > 0)
            {
                segments.Add(Segment.Text(literal.ToString()));
                literal.Clear();
            }

            segments.Add(ParseOperator(format, ref i, fieldPath));
        }

        if (literal.Length > 0)
        {
            segments.Add(Segment.Text(literal.ToString()));
        }

        return new AccessLogFormat([.. segments]);
    }

    /// <summary>Appends the formatted line to <paramref name="output"/>.</summary>
    public void Write(AccessLogEntry entry, IBufferWriter<byte> output)
    {
        foreach (var segment in _segments)
        {
            switch (segment.Field)
            {
                case AccessLogField.Literal:
                    output.Write(segment.Literal);
                    break;
                case AccessLogField.StartTime:
                    WriteFormattable(output, entry.StartTime.UtcDateTime, StartTimeFormat);
                    break;
                case AccessLogField.ResponseCode:
                    WriteFormattable(output, entry.ResponseCode, null);
                    break;
                case AccessLogField.BytesReceived:
                    WriteFormattable(output, entry.BytesReceived, null);
                    break;
                case AccessLogField.BytesSent:
                    WriteFormattable(output, entry.BytesSent, null);
                    break;
                case AccessLogField.Duration:
                    WriteFormattable(output, entry.DurationMs, null);
                    break;
                case AccessLogField.UpstreamServiceTime:
                    if (entry.UpstreamServiceTimeMs is { } serviceTime)
                    {
                        WriteText(output, serviceTime.ToString(CultureInfo.InvariantCulture), segment.MaxLength);
                    }
                    else
                    {
                        output.Write(Dash);
                    }

                    break;
                default:
                    WriteText(output, TextOf(entry, segment.Field), segment.MaxLength);
                    break;
            }
        }
    }

    /// <summary>The formatted line as a string; for tests and diagnostics, not the logging path.</summary>
    public string Format(AccessLogEntry entry)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        Write(entry, buffer);
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static string? TextOf(AccessLogEntry entry, AccessLogField field) => field switch
    {
        AccessLogField.Method => entry.Method,
        AccessLogField.Path => entry.Path,
        AccessLogField.Protocol => entry.Protocol,
        AccessLogField.ResponseFlags => entry.ResponseFlags,
        AccessLogField.XForwardedFor => entry.XForwardedFor,
        AccessLogField.UserAgent => entry.UserAgent,
        AccessLogField.RequestId => entry.RequestId,
        AccessLogField.Authority => entry.Authority,
        AccessLogField.UpstreamHost => entry.UpstreamHost,
        _ => null,
    };

    private static void WriteText(IBufferWriter<byte> output, string? value, int maxLength)
    {
        if (string.IsNullOrEmpty(value))
        {
            output.Write(Dash);
            return;
        }

        var chars = maxLength > 0 && value.Length > maxLength ? value.AsSpan(0, maxLength) : value.AsSpan();
        var span = output.GetSpan(Encoding.UTF8.GetMaxByteCount(chars.Length));
        output.Advance(Encoding.UTF8.GetBytes(chars, span));
    }

    private static void WriteFormattable<T>(IBufferWriter<byte> output, T value, string? format)
        where T : IUtf8SpanFormattable
    {
        var span = output.GetSpan(32);
        if (!value.TryFormat(span, out var written, format, CultureInfo.InvariantCulture))
        {
            span = output.GetSpan(128);
            value.TryFormat(span, out written, format, CultureInfo.InvariantCulture);
        }

        output.Advance(written);
    }

    private static Segment ParseOperator(string format, ref int i, string fieldPath)
    {
        var start = i;
        var j = i + 1;
        while (j < format.Length && (char.IsAsciiLetterUpper(format[j]) || char.IsAsciiDigit(format[j]) || format[j] == '_'))
        {
            j++;
        }

        var name = format[(i + 1)..j];
        string? argument = null;
        if (j < format.Length && format[j] == '(')
        {
            var close = format.IndexOf(')', j);
            if (close < 0)
            {
                throw Malformed(format, start, fieldPath);
            }

            argument = format[(j + 1)..close];
            j = close + 1;
        }

        var maxLength = 0;
        if (j < format.Length && format[j] == ':')
        {
            var digits = j + 1;
            while (j + 1 < format.Length && char.IsAsciiDigit(format[j + 1]))
            {
                j++;
            }

            if (j + 1 == digits || !int.TryParse(format.AsSpan(digits, j + 1 - digits), NumberStyles.None, CultureInfo.InvariantCulture, out maxLength) || maxLength == 0)
            {
                throw Malformed(format, start, fieldPath);
            }

            j++;
        }

        if (j >= format.Length || format[j] != '%')
        {
            throw Malformed(format, start, fieldPath);
        }

        i = j + 1;
        var text = format[start..i];
        var field = Resolve(name, argument);
        if (field is null || (maxLength > 0 && name is not ("REQ" or "RESP")))
        {
            throw new ConfigException(
                fieldPath,
                $"access log operator '{text}' is not supported by Herald",
                "Use %START_TIME%, %REQ(:METHOD)%, %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%, %REQ(:AUTHORITY)%, %REQ(X-FORWARDED-FOR)%, " +
                "%REQ(USER-AGENT)%, %REQ(X-REQUEST-ID)%, %PROTOCOL%, %RESPONSE_CODE%, %RESPONSE_FLAGS%, %BYTES_RECEIVED%, " +
                "%BYTES_SENT%, %DURATION%, %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% or %UPSTREAM_HOST%");
        }

        return new Segment(field.Value, [], maxLength);
    }

    private static AccessLogField? Resolve(string name, string? argument)
    {
        if (name is "REQ" && argument is not null)
        {
            // "A?B" means A, else B; Herald supports it only where both name the same value.
            var alternative = argument.IndexOf('?', StringComparison.Ordinal);
            if (alternative < 0)
            {
                return RequestHeader(argument);
            }

            var first = RequestHeader(argument[..alternative]);
            var second = RequestHeader(argument[(alternative + 1)..]);
            return first is not null && first == second ? first : null;
        }

        if (name is "RESP" && argument is not null)
        {
            return argument.Equals("x-envoy-upstream-service-time", StringComparison.OrdinalIgnoreCase)
                ? AccessLogField.UpstreamServiceTime
                : null;
        }

        if (argument is not null)
        {
            return null;
        }

        return name switch
        {
            "START_TIME" => AccessLogField.StartTime,
            "PROTOCOL" => AccessLogField.Protocol,
            "RESPONSE_CODE" => AccessLogField.ResponseCode,
            "RESPONSE_FLAGS" => AccessLogField.ResponseFlags,
            "BYTES_RECEIVED" => AccessLogField.BytesReceived,
            "BYTES_SENT" => AccessLogField.BytesSent,
            "DURATION" => AccessLogField.Duration,
            "UPSTREAM_HOST" => AccessLogField.UpstreamHost,
            _ => null,
        };
    }

    private static AccessLogField? RequestHeader(string header) => header.ToLowerInvariant() switch
    {
        ":method" => AccessLogField.Method,

        // The entry holds the path before any rewrite, which is what x-envoy-original-path carries.
        ":path" or "x-envoy-original-path" => AccessLogField.Path,
        ":authority" or "host" => AccessLogField.Authority,
        "x-forwarded-for" => AccessLogField.XForwardedFor,
        "user-agent" => AccessLogField.UserAgent,
        "x-request-id" => AccessLogField.RequestId,
        _ => null,
    };

    private static ConfigException Malformed(string format, int position, string fieldPath) =>
        new(fieldPath, $"malformed access log operator at position {position} of \"{format}\"", "Write operators as %NAME%, %NAME(ARG)% or %NAME(ARG):LENGTH%");

    private readonly record struct Segment(AccessLogField Field, byte[] Literal, int MaxLength)
    {
        public static Segment Text(string text) => new(AccessLogField.Literal, Encoding.UTF8.GetBytes(text), 0);
    }
}
