namespace Herald.Proxy.Tls;

/// <summary>Host name comparisons shared by certificate selection and SAN checks.</summary>
internal static class CertificateNames
{
    /// <summary>
    /// True when the certificate name <paramref name="pattern"/> covers <paramref name="host"/>,
    /// ignoring case; a leading "*." covers exactly one label, as RFC 6125 has it.
    /// </summary>
    public static bool DnsNameMatches(string pattern, string host)
    {
        if (pattern.StartsWith("*.", StringComparison.Ordinal))
        {
            var dot = host.IndexOf('.', StringComparison.Ordinal);
            return dot > 0 && host.AsSpan(dot).Equals(pattern.AsSpan(1), StringComparison.OrdinalIgnoreCase);
        }

        return string.Equals(pattern, host, StringComparison.OrdinalIgnoreCase);
    }
}
