using System.Text;
using Envoy.Config.Core.V3;
using Envoy.Extensions.AccessLoggers.File.V3;
using Google.Protobuf.WellKnownTypes;
using Herald.Proxy.Config;
using Herald.Proxy.Observability.AccessLog;
using Herald.Proxy.Observability.Stats;
using Xunit;
using AccessLogConfig = Envoy.Config.Accesslog.V3.AccessLog;
using AccessLogFilter = Envoy.Config.Accesslog.V3.AccessLogFilter;

namespace Herald.Tests.Observability.AccessLog;

public sealed class AccessLogTranslatorTests : IDisposable
{
    private readonly string _path = Path.Combine(Path.GetTempPath(), $"herald-access-{Guid.NewGuid():N}.log");

    public void Dispose() => File.Delete(_path);

    private AccessLogConfig Config(FileAccessLog file)
    {
        file.Path = _path;
        return new AccessLogConfig { Name = "envoy.access_loggers.file", TypedConfig = Any.Pack(file) };
    }

    [Fact]
    public async Task Translate_NoFormat_UsesEnvoysDefault()
    {
        var sink = AccessLogTranslator.Translate(Config(new FileAccessLog()), "access_log[0]", new StatsStore());

        await WriteOneAsync(sink);

        Assert.StartsWith("[2026-11-22T03:41:46.123Z] \"GET /api/v1?x=1 HTTP/1.1\" 200 ", File.ReadAllText(_path), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Translate_InlineStringFormat_IsHonoured()
    {
        var file = new FileAccessLog
        {
            LogFormat = new SubstitutionFormatString { TextFormatSource = new DataSource { InlineString = "%REQ(:METHOD)% %RESPONSE_CODE%\n" } },
        };
        var sink = AccessLogTranslator.Translate(Config(file), "access_log[0]", new StatsStore());

        await WriteOneAsync(sink);

        Assert.Equal("GET 200\n", File.ReadAllText(_path, Encoding.UTF8));
    }

    [Fact]
    public void Translate_UnknownOperator_NamesLogFormat()
    {
        var file = new FileAccessLog
        {
            LogFormat = new SubstitutionFormatString { TextFormatSource = new DataSource { InlineString = "%DOWNSTREAM_REMOTE_ADDRESS%\n" } },
        };

        var error = Assert.Throws<ConfigException>(() => AccessLogTranslator.Translate(Config(file), "access_log[0]", new StatsStore()));

        Assert.Equal("access_log[0].typed_config.log_format", error.FieldPath);
    }

    [Fact]
    public void Translate_Filter_IsRefused()
    {
        var config = Config(new FileAccessLog());
        config.Filter = new AccessLogFilter();

        var error = Assert.Throws<ConfigException>(() => AccessLogTranslator.Translate(config, "access_log[0]", new StatsStore()));

        Assert.Equal("access_log[0].filter", error.FieldPath);
    }

    [Fact]
    public void Translate_JsonFormat_IsRefused()
    {
        var file = new FileAccessLog { LogFormat = new SubstitutionFormatString { JsonFormat = new Struct() } };

        var error = Assert.Throws<ConfigException>(() => AccessLogTranslator.Translate(Config(file), "access_log[0]", new StatsStore()));

        Assert.Equal("access_log[0].typed_config.log_format.json_format", error.FieldPath);
    }

    [Fact]
    public void Translate_OtherLoggerType_IsRefused()
    {
        var config = new AccessLogConfig { Name = "x", TypedConfig = Any.Pack(new Struct()) };

        var error = Assert.Throws<ConfigException>(() => AccessLogTranslator.Translate(config, "access_log[0]", new StatsStore()));

        Assert.Equal("access_log[0].typed_config.@type", error.FieldPath);
    }

    [Fact]
    public void Translate_UnwritableDirectory_NamesPath()
    {
        var config = new AccessLogConfig
        {
            TypedConfig = Any.Pack(new FileAccessLog { Path = "/nonexistent-herald-dir/access.log" }),
        };

        var error = Assert.Throws<ConfigException>(() => AccessLogTranslator.Translate(config, "access_log[0]", new StatsStore()));

        Assert.Equal("access_log[0].typed_config.path", error.FieldPath);
    }

    private static async Task WriteOneAsync(IAccessLogSink sink)
    {
        sink.Log(AccessLogFormatTests.HttpEntry());
        var file = Assert.IsType<FileAccessLogSink>(sink);
        await file.FlushAsync();
        await file.DisposeAsync();
    }
}
