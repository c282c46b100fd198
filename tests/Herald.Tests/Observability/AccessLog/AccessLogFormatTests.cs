using Herald.Proxy.Config;
using Herald.Proxy.Observability.AccessLog;
using Xunit;

namespace Herald.Tests.Observability.AccessLog;

public sealed class AccessLogFormatTests
{
    internal static AccessLogEntry HttpEntry() => new()
    {
        StartTime = new DateTimeOffset(2026, 11, 22, 4, 41, 46, 123, TimeSpan.FromHours(1)),
        Method = "GET",
        Path = "/api/v1?x=1",
        Protocol = "HTTP/1.1",
        ResponseCode = 200,
        ResponseFlags = "-",
        BytesReceived = 12,
        BytesSent = 345,
        DurationMs = 6,
        UpstreamServiceTimeMs = 5,
        XForwardedFor = "10.1.2.3",
        UserAgent = "curl/8.0",
        RequestId = "abc-123",
        Authority = "example.com",
        UpstreamHost = "10.0.0.1:80",
    };

    [Fact]
    public void Default_HttpEntry_MatchesEnvoysDefaultLine()
    {
        var line = AccessLogFormat.Default.Format(HttpEntry());

        Assert.Equal(
            "[2026-11-22T03:41:46.123Z] \"GET /api/v1?x=1 HTTP/1.1\" 200 - 12 345 6 5 \"10.1.2.3\" \"curl/8.0\" \"abc-123\" \"example.com\" \"10.0.0.1:80\"\n",
            line);
    }

    [Fact]
    public void Default_TcpEntryWithMissingValues_PrintsDashes()
    {
        var entry = new AccessLogEntry
        {
            StartTime = new DateTimeOffset(2026, 1, 2, 3, 4, 5, 6, TimeSpan.Zero),
            BytesReceived = 10,
            BytesSent = 20,
            DurationMs = 1500,
            ResponseFlags = "UF",
        };

        var line = AccessLogFormat.Default.Format(entry);

        Assert.Equal("[2026-01-02T03:04:05.006Z] \"- - -\" 0 UF 10 20 1500 - \"-\" \"-\" \"-\" \"-\" \"-\"\n", line);
    }

    [Fact]
    public void Parse_CustomFormat_WritesOnlyItsOperators()
    {
        var format = AccessLogFormat.Parse("%REQ(:authority)% %REQ(user-agent):4% %RESPONSE_CODE% took %DURATION%ms via %UPSTREAM_HOST%\n", "f");

        var line = format.Format(HttpEntry());

        Assert.Equal("example.com curl 200 took 6ms via 10.0.0.1:80\n", line);
    }

    [Fact]
    public void Parse_FormatWithoutOperators_IsLiteral()
    {
        Assert.Equal("static\n", AccessLogFormat.Parse("static\n", "f").Format(HttpEntry()));
    }

    [Theory]
    [InlineData("%DOWNSTREAM_REMOTE_ADDRESS%")]
    [InlineData("%REQ(X-CUSTOM)%")]
    [InlineData("%RESP(CONTENT-TYPE)%")]
    [InlineData("%START_TIME(%s)%")]
    [InlineData("%DURATION:3%")]
    [InlineData("100%% done")]
    [InlineData("%RESPONSE_CODE")]
    [InlineData("%REQ(:METHOD%")]
    public void Parse_UnsupportedOrMalformedOperator_ThrowsNamingTheField(string text)
    {
        var error = Assert.Throws<ConfigException>(() => AccessLogFormat.Parse(text, "listeners[0].access_log[0].typed_config.log_format"));

        Assert.Equal("listeners[0].access_log[0].typed_config.log_format", error.FieldPath);
    }
}
