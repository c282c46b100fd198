using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.RegularExpressions;
using Envoy.Extensions.TransportSockets.Tls.V3;
using Herald.Proxy.Config;
using CorePb = Envoy.Config.Core.V3;
using MatcherPb = Envoy.Type.Matcher.V3;

namespace Herald.Proxy.Tls;

/// <summary>
/// Envoy's <c>transport_socket</c> (<c>envoy.transport_sockets.tls</c>) -> <see cref="DownstreamTlsConfig"/>
/// for filter chains and <see cref="UpstreamTlsConfig"/> for clusters. Certificates are loaded here,
/// so a missing file or a key that does not match its certificate refuses the config.
/// </summary>
internal static class TlsContextTranslator
{
    public const string TlsSocketName = "envoy.transport_sockets.tls";
    public const string RawBufferSocketName = "envoy.transport_sockets.raw_buffer";
    private const string TypePrefix = "type.googleapis.com/";
    private const int MaxPemBytes = FileCertificateSource.MaxFileBytes;

    /// <summary>A chain's transport socket; null for plain TCP (none, or raw_buffer).</summary>
    /// <param name="secrets">SDS secrets by name (delivered over ADS, or the bootstrap's static secrets); null when there are none.</param>
    public static DownstreamTlsConfig? TranslateDownstream(CorePb.TransportSocket? socket, string path, Func<string, Secret?>? secrets, TimeProvider time)
    {
        if (Unpack<DownstreamTlsContext>(socket, path, out var typedPath) is not { } context)
        {
            return null;
        }

        FieldPolicy.RequireOnly(context, typedPath, "common_tls_context", "require_client_certificate");
        var commonPath = FieldPolicy.Join(typedPath, "common_tls_context");
        var common = context.CommonTlsContext ?? throw new ConfigException(commonPath, "a DownstreamTlsContext needs common_tls_context with a certificate", "Set common_tls_context.tls_certificates or tls_certificate_sds_secret_configs");
        var (certificates, validation, alpn, protocols) = TranslateCommon(common, commonPath, secrets, time);
        if (certificates.Count == 0)
        {
            throw new ConfigException(commonPath, "a server TLS context needs a certificate", "Set tls_certificates (certificate_chain and private_key) or tls_certificate_sds_secret_configs");
        }

        var require = context.RequireClientCertificate ?? false;
        if (require && validation is null)
        {
            throw new ConfigException(
                FieldPolicy.Join(typedPath, "require_client_certificate"),
                "client certificates are required but nothing says which to trust",
                "Set common_tls_context.validation_context.trusted_ca");
        }

        return new DownstreamTlsConfig
        {
            Certificates = certificates,
            ApplicationProtocols = alpn,
            Protocols = protocols,
            RequireClientCertificate = require,
            ClientValidation = validation,
        };
    }

    /// <summary>A cluster's transport socket; null for plain TCP (none, or raw_buffer).</summary>
    public static UpstreamTlsConfig? TranslateUpstream(CorePb.TransportSocket? socket, string path, TimeProvider time)
    {
        if (Unpack<UpstreamTlsContext>(socket, path, out var typedPath) is not { } context)
        {
            return null;
        }

        FieldPolicy.RequireOnly(context, typedPath, "common_tls_context", "sni");
        if (context.Sni.Length > 255)
        {
            throw new ConfigException(FieldPolicy.Join(typedPath, "sni"), "sni is longer than 255 characters", "Use the upstream's host name");
        }

        var commonPath = FieldPolicy.Join(typedPath, "common_tls_context");
        var (certificates, validation, alpn, protocols) = context.CommonTlsContext is { } common
            ? TranslateCommon(common, commonPath, null, time)
            : ([], null, [], SslProtocols.Tls12 | SslProtocols.Tls13);
        if (certificates.Count > 1)
        {
            throw new ConfigException(FieldPolicy.Join(commonPath, "tls_certificates"), "an upstream TLS context presents at most one client certificate", "Keep one certificate");
        }

        return new UpstreamTlsConfig
        {
            Sni = context.Sni.Length == 0 ? null : context.Sni,
            Validation = validation,
            ApplicationProtocols = alpn,
            Protocols = protocols,
            ClientCertificate = certificates.Count == 1 ? certificates[0] : null,
        };
    }

    private static T? Unpack<T>(CorePb.TransportSocket? socket, string path, out string typedPath)
        where T : class, Google.Protobuf.IMessage<T>, new()
    {
        typedPath = FieldPolicy.Join(FieldPolicy.Join(path, "transport_socket"), "typed_config");
        if (socket is null)
        {
            return null;
        }

        var socketPath = FieldPolicy.Join(path, "transport_socket");
        FieldPolicy.RequireOnly(socket, socketPath, "name", "typed_config");
        var expected = TypePrefix + new T().Descriptor.FullName;
        if (socket.TypedConfig is null)
        {
            return socket.Name == RawBufferSocketName
                ? null
                : throw new ConfigException(typedPath, $"transport socket '{socket.Name}' has no typed_config", $"Set typed_config with @type {expected}, or use {RawBufferSocketName}");
        }

        if (socket.TypedConfig.TypeUrl.EndsWith(".raw_buffer.v3.RawBuffer", StringComparison.Ordinal))
        {
            return null;
        }

        if (socket.TypedConfig.TypeUrl != expected)
        {
            throw new ConfigException(typedPath, $"transport socket type '{socket.TypedConfig.TypeUrl}' is not supported here", $"Use {TlsSocketName} with @type {expected}");
        }

        return socket.TypedConfig.Unpack<T>();
    }

    private static (List<ICertificateSource> Certificates, PeerValidation? Validation, List<SslApplicationProtocol> Alpn, SslProtocols Protocols) TranslateCommon(
        CommonTlsContext common, string path, Func<string, Secret?>? secrets, TimeProvider time)
    {
        FieldPolicy.RequireOnly(
            common, path, "tls_params", "tls_certificates", "tls_certificate_sds_secret_configs", "validation_context",
            "validation_context_sds_secret_config", "alpn_protocols");

        var protocols = TranslateParams(common.TlsParams, FieldPolicy.Join(path, "tls_params"));
        var certificates = new List<ICertificateSource>();
        for (var i = 0; i < common.TlsCertificates.Count; i++)
        {
            certificates.Add(TranslateCertificate(common.TlsCertificates[i], FieldPolicy.Index(path, "tls_certificates", i), time));
        }

        for (var i = 0; i < common.TlsCertificateSdsSecretConfigs.Count; i++)
        {
            var configPath = FieldPolicy.Index(path, "tls_certificate_sds_secret_configs", i);
            var secret = ResolveSecret(common.TlsCertificateSdsSecretConfigs[i], configPath, secrets);
            if (secret is null)
            {
                // Not delivered (the ADS client waited for it, then gave up): handshakes fail until it comes.
                certificates.Add(MissingCertificate.Instance);
                continue;
            }

            if (secret.TlsCertificate is null)
            {
                throw new ConfigException(configPath, $"secret '{secret.Name}' holds no tls_certificate", "Point at a Secret with tls_certificate");
            }

            certificates.Add(TranslateCertificate(secret.TlsCertificate, $"Secret '{secret.Name}'.tls_certificate", time));
        }

        PeerValidation? validation = null;
        if (common.ValidationContext is { } context)
        {
            validation = TranslateValidation(context, FieldPolicy.Join(path, "validation_context"));
        }
        else if (common.ValidationContextSdsSecretConfig is { } validationSecret)
        {
            var configPath = FieldPolicy.Join(path, "validation_context_sds_secret_config");
            var secret = ResolveSecret(validationSecret, configPath, secrets)
                ?? throw new ConfigException(configPath, $"secret '{validationSecret.Name}' has not arrived", "Serve the Secret over ADS");
            validation = TranslateValidation(
                secret.ValidationContext ?? throw new ConfigException(configPath, $"secret '{secret.Name}' holds no validation_context", "Point at a Secret with validation_context"),
                $"Secret '{secret.Name}'.validation_context");
        }

        var alpn = new List<SslApplicationProtocol>(common.AlpnProtocols.Count);
        for (var i = 0; i < common.AlpnProtocols.Count; i++)
        {
            var protocol = common.AlpnProtocols[i];
            if (protocol.Length is 0 or > 255)
            {
                throw new ConfigException(FieldPolicy.Index(path, "alpn_protocols", i), $"'{protocol}' is not an ALPN protocol id", "Use ids such as h2 and http/1.1");
            }

            alpn.Add(new SslApplicationProtocol(protocol));
        }

        return (certificates, validation, alpn, protocols);
    }

    private static Secret? ResolveSecret(SdsSecretConfig config, string path, Func<string, Secret?>? secrets)
    {
        FieldPolicy.RequireOnly(config, path, "name", "sds_config");
        if (config.Name.Length == 0)
        {
            throw new ConfigException(FieldPolicy.Join(path, "name"), "the secret has no name", "Name the Secret to use");
        }

        if (config.SdsConfig is { } source)
        {
            var sourcePath = FieldPolicy.Join(path, "sds_config");
            FieldPolicy.RequireOnly(source, sourcePath, "ads", "resource_api_version", "initial_fetch_timeout");
            if (source.Ads is null)
            {
                throw new ConfigException(sourcePath, "Herald takes secrets over ADS only", "Set sds_config: { ads: {} }, or use tls_certificates with filename (Herald reloads changed files)");
            }
        }

        // Without sds_config, Envoy looks the name up in static_resources.secrets.
        return secrets?.Invoke(config.Name);
    }

    private static SslProtocols TranslateParams(TlsParameters? parameters, string path)
    {
        if (parameters is null)
        {
            return SslProtocols.Tls12 | SslProtocols.Tls13;
        }

        FieldPolicy.RequireOnly(parameters, path, "tls_minimum_protocol_version", "tls_maximum_protocol_version");
        var minimum = Version(parameters.TlsMinimumProtocolVersion, FieldPolicy.Join(path, "tls_minimum_protocol_version")) ?? 2;
        var maximum = Version(parameters.TlsMaximumProtocolVersion, FieldPolicy.Join(path, "tls_maximum_protocol_version")) ?? 3;
        if (minimum > maximum)
        {
            throw new ConfigException(path, "the minimum TLS version is above the maximum", "Set tls_minimum_protocol_version at or below tls_maximum_protocol_version");
        }

        return (minimum <= 2 && maximum >= 2 ? SslProtocols.Tls12 : SslProtocols.None) | (maximum >= 3 ? SslProtocols.Tls13 : SslProtocols.None);
    }

    // 2 = TLS 1.2, 3 = TLS 1.3; null = TLS_AUTO.
    private static int? Version(TlsParameters.Types.TlsProtocol version, string path) => version switch
    {
        TlsParameters.Types.TlsProtocol.TlsAuto => null,
        TlsParameters.Types.TlsProtocol.Tlsv12 => 2,
        TlsParameters.Types.TlsProtocol.Tlsv13 => 3,
        _ => throw new ConfigException(path, $"{version} is not supported: Herald speaks TLS 1.2 and 1.3 only", "Use TLSv1_2 or TLSv1_3"),
    };

    private static ICertificateSource TranslateCertificate(Envoy.Extensions.TransportSockets.Tls.V3.TlsCertificate certificate, string path, TimeProvider time)
    {
        FieldPolicy.RequireOnly(certificate, path, "certificate_chain", "private_key", "password");
        var chainPath = FieldPolicy.Join(path, "certificate_chain");
        var keyPath = FieldPolicy.Join(path, "private_key");
        var chain = certificate.CertificateChain ?? throw new ConfigException(chainPath, "the certificate has no certificate_chain", "Set certificate_chain.filename or inline_string (PEM)");
        var key = certificate.PrivateKey ?? throw new ConfigException(keyPath, "the certificate has no private_key", "Set private_key.filename or inline_string (PEM)");
        var password = certificate.Password is null ? null : ReadText(certificate.Password, FieldPolicy.Join(path, "password"));
        try
        {
            if (chain.SpecifierCase == CorePb.DataSource.SpecifierOneofCase.Filename && key.SpecifierCase == CorePb.DataSource.SpecifierOneofCase.Filename)
            {
                FieldPolicy.RequireOnly(chain, chainPath, "filename");
                FieldPolicy.RequireOnly(key, keyPath, "filename");
                return new FileCertificateSource(chain.Filename, key.Filename, password, time);
            }

            return new StaticCertificateSource(TlsCertificate.FromPem(ReadText(chain, chainPath), ReadText(key, keyPath), password));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or CryptographicException or ArgumentException)
        {
            throw new ConfigException(chainPath, $"cannot load the certificate and its private key: {e.Message}", "Point certificate_chain and private_key at a PEM certificate chain and its matching PEM key");
        }
    }

    private static PeerValidation TranslateValidation(CertificateValidationContext context, string path)
    {
        FieldPolicy.RequireOnly(context, path, "trusted_ca", "match_typed_subject_alt_names");
        var caPath = FieldPolicy.Join(path, "trusted_ca");
        if (context.TrustedCa is null)
        {
            throw new ConfigException(caPath, "a validation context needs trusted_ca", "Set trusted_ca.filename or inline_string to the PEM CA certificates to trust");
        }

        var cas = new X509Certificate2Collection();
        try
        {
            cas.ImportFromPem(ReadText(context.TrustedCa, caPath));
        }
        catch (CryptographicException e)
        {
            throw new ConfigException(caPath, $"the CA certificates do not parse: {e.Message}", "Use PEM certificates");
        }

        if (cas.Count == 0)
        {
            throw new ConfigException(caPath, "trusted_ca holds no PEM certificate", "Use PEM certificates (-----BEGIN CERTIFICATE-----)");
        }

        var matchers = new List<SubjectAltNameMatcher>(context.MatchTypedSubjectAltNames.Count);
        for (var i = 0; i < context.MatchTypedSubjectAltNames.Count; i++)
        {
            matchers.Add(TranslateSanMatcher(context.MatchTypedSubjectAltNames[i], FieldPolicy.Index(path, "match_typed_subject_alt_names", i)));
        }

        return new PeerValidation { TrustedCas = cas, SubjectAltNames = matchers };
    }

    private static SubjectAltNameMatcher TranslateSanMatcher(Envoy.Extensions.TransportSockets.Tls.V3.SubjectAltNameMatcher config, string path)
    {
        FieldPolicy.RequireOnly(config, path, "san_type", "matcher");
        var type = config.SanType switch
        {
            Envoy.Extensions.TransportSockets.Tls.V3.SubjectAltNameMatcher.Types.SanType.Dns => SubjectAltNameMatcher.NameType.Dns,
            Envoy.Extensions.TransportSockets.Tls.V3.SubjectAltNameMatcher.Types.SanType.Uri => SubjectAltNameMatcher.NameType.Uri,
            Envoy.Extensions.TransportSockets.Tls.V3.SubjectAltNameMatcher.Types.SanType.IpAddress => SubjectAltNameMatcher.NameType.IpAddress,
            Envoy.Extensions.TransportSockets.Tls.V3.SubjectAltNameMatcher.Types.SanType.Email => SubjectAltNameMatcher.NameType.Email,
            _ => throw new ConfigException(FieldPolicy.Join(path, "san_type"), $"SAN type {config.SanType} is not supported", "Use DNS, URI, IP_ADDRESS or EMAIL"),
        };
        var matcherPath = FieldPolicy.Join(path, "matcher");
        var matcher = config.Matcher ?? throw new ConfigException(matcherPath, "the SAN matcher has no matcher", "Set matcher.exact, prefix, suffix, contains or safe_regex");
        FieldPolicy.RequireOnly(matcher, matcherPath, "exact", "prefix", "suffix", "contains", "safe_regex", "ignore_case");
        var (kind, value) = matcher.MatchPatternCase switch
        {
            MatcherPb.StringMatcher.MatchPatternOneofCase.Exact => (SubjectAltNameMatcher.MatchKind.Exact, matcher.Exact),
            MatcherPb.StringMatcher.MatchPatternOneofCase.Prefix => (SubjectAltNameMatcher.MatchKind.Prefix, matcher.Prefix),
            MatcherPb.StringMatcher.MatchPatternOneofCase.Suffix => (SubjectAltNameMatcher.MatchKind.Suffix, matcher.Suffix),
            MatcherPb.StringMatcher.MatchPatternOneofCase.Contains => (SubjectAltNameMatcher.MatchKind.Contains, matcher.Contains),
            MatcherPb.StringMatcher.MatchPatternOneofCase.SafeRegex => (SubjectAltNameMatcher.MatchKind.Regex, matcher.SafeRegex.Regex),
            _ => throw new ConfigException(matcherPath, "the SAN matcher has no pattern", "Set exact, prefix, suffix, contains or safe_regex"),
        };
        Regex? pattern = null;
        if (kind == SubjectAltNameMatcher.MatchKind.Regex)
        {
            var regexPath = FieldPolicy.Join(matcherPath, "safe_regex");
            FieldPolicy.RequireOnly(matcher.SafeRegex, regexPath, "google_re2", "regex");
            try
            {
                var options = RegexOptions.NonBacktracking | RegexOptions.CultureInvariant | (matcher.IgnoreCase ? RegexOptions.IgnoreCase : RegexOptions.None);
                pattern = new Regex($"^(?:{value})$", options);
            }
            catch (ArgumentException e)
            {
                throw new ConfigException(FieldPolicy.Join(regexPath, "regex"), $"'{value}' is not a valid regular expression: {e.Message}", "Fix the pattern");
            }
        }

        return new SubjectAltNameMatcher { Type = type, Kind = kind, Value = value, IgnoreCase = matcher.IgnoreCase, Pattern = pattern };
    }

    private static string ReadText(CorePb.DataSource source, string path)
    {
        FieldPolicy.RequireOnly(source, path, "filename", "inline_string", "inline_bytes");
        switch (source.SpecifierCase)
        {
            case CorePb.DataSource.SpecifierOneofCase.InlineString:
                return source.InlineString;
            case CorePb.DataSource.SpecifierOneofCase.InlineBytes:
                return Encoding.UTF8.GetString(source.InlineBytes.Span);
            case CorePb.DataSource.SpecifierOneofCase.Filename:
                try
                {
                    var info = new FileInfo(source.Filename);
                    if (info.Exists && info.Length > MaxPemBytes)
                    {
                        throw new ConfigException(FieldPolicy.Join(path, "filename"), $"{source.Filename} is larger than {MaxPemBytes} bytes", "Point at a PEM file");
                    }

                    return File.ReadAllText(source.Filename);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    throw new ConfigException(FieldPolicy.Join(path, "filename"), $"cannot read {source.Filename}: {e.Message}", "Point at a readable file");
                }

            default:
                throw new ConfigException(path, "the data source is empty", "Set filename, inline_string or inline_bytes");
        }
    }

    /// <summary>An SDS secret that never arrived: handshakes on its chain fail (ssl.no_certificate) until it does.</summary>
    private sealed class MissingCertificate : ICertificateSource
    {
        public static readonly MissingCertificate Instance = new();

        public TlsCertificate? Current => null;
    }
}
