using System.Formats.Asn1;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Herald.Proxy.Tls;

/// <summary>
/// Envoy's <c>CertificateValidationContext</c>: the peer's chain must end at one of
/// <c>trusted_ca</c>, and when SAN matchers are given, one of the peer's subject alternative
/// names must match one of them.
/// </summary>
internal sealed class PeerValidation
{
    private const int MaxListedNames = 8;

    public required X509Certificate2Collection TrustedCas { get; init; }

    public IReadOnlyList<SubjectAltNameMatcher> SubjectAltNames { get; init; } = [];

    /// <summary>Checks the presented certificate; on failure says why, in words for a log or a 503 body.</summary>
    public bool Validate(X509Certificate? presented, X509Chain? presentedChain, out string failure)
    {
        if (presented is null)
        {
            failure = "CERTIFICATE_REQUIRED: the peer presented no certificate";
            return false;
        }

        var leaf = presented as X509Certificate2 ?? new X509Certificate2(presented);
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(TrustedCas);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.DisableCertificateDownloads = true;
        if (presentedChain is not null)
        {
            chain.ChainPolicy.ExtraStore.AddRange(presentedChain.ChainPolicy.ExtraStore);
        }

        if (!chain.Build(leaf))
        {
            var statuses = new List<string>();
            foreach (var status in chain.ChainStatus)
            {
                statuses.Add($"{status.Status} ({status.StatusInformation.Trim()})");
            }

            failure = $"CERTIFICATE_VERIFY_FAILED: certificate '{leaf.Subject}' does not verify against trusted_ca: {string.Join("; ", statuses)}";
            return false;
        }

        if (SubjectAltNames.Count > 0)
        {
            var names = Read(leaf);
            foreach (var name in names)
            {
                foreach (var matcher in SubjectAltNames)
                {
                    if (matcher.Matches(name))
                    {
                        failure = string.Empty;
                        return true;
                    }
                }
            }

            var shown = string.Join(", ", names.Take(MaxListedNames));
            failure = $"CERTIFICATE_VERIFY_FAILED: no subject alternative name of '{leaf.Subject}' ({(shown.Length == 0 ? "none" : shown)}) matches {string.Join(" or ", SubjectAltNames)}";
            return false;
        }

        failure = string.Empty;
        return true;
    }

    /// <summary>The DNS, URI, IP and email subject alternative names of a certificate.</summary>
    public static List<SubjectAltName> Read(X509Certificate2 certificate)
    {
        var names = new List<SubjectAltName>();
        foreach (var extension in certificate.Extensions)
        {
            if (extension.Oid?.Value != "2.5.29.17")
            {
                continue;
            }

            try
            {
                var sequence = new AsnReader(extension.RawData, AsnEncodingRules.DER).ReadSequence();
                while (sequence.HasData)
                {
                    var tag = sequence.PeekTag();
                    if (tag.TagClass != TagClass.ContextSpecific)
                    {
                        sequence.ReadEncodedValue();
                        continue;
                    }

                    switch (tag.TagValue)
                    {
                        case 1:
                            names.Add(new(SubjectAltNameMatcher.NameType.Email, sequence.ReadCharacterString(UniversalTagNumber.IA5String, tag)));
                            break;
                        case 2:
                            names.Add(new(SubjectAltNameMatcher.NameType.Dns, sequence.ReadCharacterString(UniversalTagNumber.IA5String, tag)));
                            break;
                        case 6:
                            names.Add(new(SubjectAltNameMatcher.NameType.Uri, sequence.ReadCharacterString(UniversalTagNumber.IA5String, tag)));
                            break;
                        case 7:
                            names.Add(new(SubjectAltNameMatcher.NameType.IpAddress, new IPAddress(sequence.ReadOctetString(tag)).ToString()));
                            break;
                        default:
                            sequence.ReadEncodedValue();
                            break;
                    }
                }
            }
            catch (Exception e) when (e is AsnContentException or CryptographicException or ArgumentException)
            {
                // A malformed SAN extension names nothing; matchers then fail.
            }
        }

        return names;
    }
}
