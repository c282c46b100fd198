using Envoy.Extensions.AccessLoggers.File.V3;
using Herald.Proxy.Config;
using Herald.Proxy.Observability.Stats;
using AccessLogConfig = Envoy.Config.Accesslog.V3.AccessLog;

namespace Herald.Proxy.Observability.AccessLog;

/// <summary>Translates an Envoy <c>access_log</c> entry into a sink. Only the file access logger with a text format is supported.</summary>
internal static class AccessLogTranslator
{
    public const string FileAccessLogTypeUrl = "type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog";

    /// <summary>
    /// Validates <paramref name="config"/> and opens its file. The returned sink also implements
    /// <see cref="IAsyncDisposable"/>: its owner disposes it when the config is replaced.
    /// </summary>
    public static IAccessLogSink Translate(AccessLogConfig config, string path, StatsStore stats) =>
        Translate(config, path, stats, FileAccessLogSink.DefaultCapacity);

    public static IAccessLogSink Translate(AccessLogConfig config, string path, StatsStore stats, int capacity)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(stats);
        if (config.Filter is not null)
        {
            throw new ConfigException(
                FieldPolicy.Join(path, "filter"),
                "access log filters are not supported by Herald",
                "Remove the filter; Herald logs every request");
        }

        FieldPolicy.RequireOnly(config, path, "name", "typed_config");
        var typedPath = FieldPolicy.Join(path, "typed_config");
        if (config.TypedConfig is null)
        {
            throw new ConfigException(typedPath, "an access log needs a typed_config", $"Set typed_config to a {FileAccessLogTypeUrl}");
        }

        if (config.TypedConfig.TypeUrl != FileAccessLogTypeUrl)
        {
            throw new ConfigException(
                FieldPolicy.Join(typedPath, "@type"),
                $"access logger '{config.TypedConfig.TypeUrl}' is not supported by Herald",
                $"Use {FileAccessLogTypeUrl}");
        }

        FileAccessLog file;
        try
        {
            file = config.TypedConfig.Unpack<FileAccessLog>();
        }
        catch (Google.Protobuf.InvalidProtocolBufferException e)
        {
            throw new ConfigException(typedPath, $"the FileAccessLog does not parse: {e.Message}", "Check the resource's encoding");
        }

        FieldPolicy.RequireOnly(file, typedPath, "path", "format", "log_format");
        var format = TranslateFormat(file, typedPath);

        var filePath = FieldPolicy.Join(typedPath, "path");
        if (string.IsNullOrEmpty(file.Path))
        {
            throw new ConfigException(filePath, "the access log path is empty", "Set path, for example /dev/stdout");
        }

        var dropped = stats.Counter(StatKey.Global("access_log.dropped"));
        try
        {
            return FileAccessLogSink.Open(file.Path, format, dropped, capacity);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new ConfigException(filePath, $"cannot open '{file.Path}' for appending: {e.Message}", "Check that the directory exists and Herald may write there");
        }
    }

    private static AccessLogFormat TranslateFormat(FileAccessLog file, string typedPath)
    {
        switch (file.AccessLogFormatCase)
        {
            case FileAccessLog.AccessLogFormatOneofCase.None:
                return AccessLogFormat.Default;
            case FileAccessLog.AccessLogFormatOneofCase.Format:
                // The deprecated fields are still what many bootstraps use, so Herald honours them.
#pragma warning disable CS0612
                var formatPath = FieldPolicy.Join(typedPath, "format");
                return file.Format.Length == 0 ? AccessLogFormat.Default : AccessLogFormat.Parse(file.Format, formatPath);
#pragma warning restore CS0612
            case FileAccessLog.AccessLogFormatOneofCase.LogFormat:
                break;
            default:
                throw new ConfigException(
                    FieldPolicy.Join(typedPath, file.AccessLogFormatCase == FileAccessLog.AccessLogFormatOneofCase.JsonFormat ? "json_format" : "typed_json_format"),
                    "JSON access log formats are not supported by Herald",
                    "Use log_format.text_format_source.inline_string");
        }

        var logFormatPath = FieldPolicy.Join(typedPath, "log_format");
        var logFormat = file.LogFormat;
        FieldPolicy.RequireOnly(logFormat, logFormatPath, "text_format", "text_format_source");
        string text;
#pragma warning disable CS0612 // text_format is deprecated but still common.
        if (logFormat.HasTextFormat)
        {
            text = logFormat.TextFormat;
        }
#pragma warning restore CS0612
        else if (logFormat.TextFormatSource is { } source)
        {
            var sourcePath = FieldPolicy.Join(logFormatPath, "text_format_source");
            FieldPolicy.RequireOnly(source, sourcePath, "inline_string");
            text = source.InlineString;
        }
        else
        {
            throw new ConfigException(logFormatPath, "log_format sets no text format", "Set log_format.text_format_source.inline_string");
        }

        if (text.Length == 0)
        {
            throw new ConfigException(logFormatPath, "the access log format is empty", "Set a format, or remove log_format for Envoy's default");
        }

        return AccessLogFormat.Parse(text, logFormatPath);
    }
}
