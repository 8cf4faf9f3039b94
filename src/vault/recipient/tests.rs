//! Recipient strings: round trips, fingerprints, precise refusals, and the OAEP probe.

use super::*;

fn key(seed: u8) -> p256::PublicKey {
    p256::SecretKey::from_slice(&[seed; 32])
        .unwrap()
        .public_key()
}

#[test]
fn round_trip() {
    for seed in 1..20u8 {
        let r = Recipient::p256(key(seed));
        let s = r.to_string();
        assert!(s.starts_with("kwr1-p256-"), "{s}");
        assert_eq!(s.len(), "kwr1-p256-".len() + 44);
        let back: Recipient = s.parse().unwrap();
        assert_eq!(back, r);
        assert_eq!(back.public_key(), SealingPublicKey::P256(key(seed)));
        assert_eq!(back.fingerprint(), r.fingerprint());
    }
}

#[test]
fn fingerprint_is_sha256_prefix_of_compressed_point() {
    let r = Recipient::p256(key(1));
    let point = key(1).to_encoded_point(true);
    let want = hex::encode(&Sha256::digest(point.as_bytes())[..16]);
    assert_eq!(r.fingerprint(), want);
    assert_eq!(r.fingerprint().len(), 32);
    assert_ne!(r.fingerprint(), Recipient::p256(key(2)).fingerprint());
}

#[test]
fn bad_strings_are_refused_precisely() {
    let good = Recipient::p256(key(3)).to_string();
    let body = good.strip_prefix("kwr1-p256-").unwrap();
    let mut flipped_prefix = URL_SAFE_NO_PAD.decode(body).unwrap();
    flipped_prefix[0] = 0x04;
    // x = 5 is not the x-coordinate of any P-256 point... find one that fails.
    let not_on_curve = (0u8..=255)
        .map(|b| {
            let mut p = [0u8; 33];
            p[0] = 0x02;
            p[32] = b;
            p
        })
        .find(|p| p256::PublicKey::from_sec1_bytes(p).is_err())
        .unwrap();
    let cases = [
        ("", "starts with 'kwr1-'".to_string()),
        ("age1xyz", "starts with 'kwr1-'".to_string()),
        ("kwr1-p256", "expected 'kwr1-<key type>-<key>'".to_string()),
        (&*format!("kwr1-rsa-{body}"), "key type 'rsa'".to_string()),
        (&*format!("kwr1-p256-{body}="), "base64url".to_string()),
        (
            &*format!("kwr1-p256-{}", &body[..40]),
            "is 30 bytes".to_string(),
        ),
        (
            &*format!("kwr1-p256-{}", URL_SAFE_NO_PAD.encode(flipped_prefix)),
            "not a compressed".to_string(),
        ),
        (
            &*format!("kwr1-p256-{}", URL_SAFE_NO_PAD.encode(not_on_curve)),
            "not a point".to_string(),
        ),
    ];
    for (s, want) in cases {
        let err = s.parse::<Recipient>().expect_err(s);
        assert!(err.to_string().contains(&want), "{s}: {err}");
        assert_eq!(err.kind(), crate::ErrorKind::Usage);
    }
}

mod rsa_recipients {
    use super::*;
    use crate::token::OaepHash;
    use crate::vault::testing::SoftRsaToken;

    #[test]
    fn round_trip_records_the_oaep_hash() {
        let token = SoftRsaToken::new(0, &[OaepHash::Sha1]);
        for oaep in OaepHash::PREFERENCE {
            let r = Recipient::rsa(token.public(), oaep);
            let s = r.to_string();
            assert!(
                s.starts_with(&format!("kwr1-rsa3072-{}-", oaep.id())),
                "{s}"
            );
            let back: Recipient = s.parse().unwrap();
            assert_eq!(back, r);
            assert_eq!(back.fingerprint(), r.fingerprint());
        }
        // The fingerprint names the key, not the hash.
        assert_eq!(
            Recipient::rsa(token.public(), OaepHash::Sha1).fingerprint(),
            Recipient::rsa(token.public(), OaepHash::Sha256).fingerprint()
        );
        assert_ne!(
            Recipient::rsa(SoftRsaToken::new(1, &[]).public(), OaepHash::Sha1).fingerprint(),
            Recipient::rsa(token.public(), OaepHash::Sha1).fingerprint()
        );
    }

    #[test]
    fn the_probe_prefers_sha256_and_falls_back_to_sha1() {
        let both = SoftRsaToken::new(0, &[OaepHash::Sha1, OaepHash::Sha256]);
        let sha1 = SoftRsaToken::new(0, &[OaepHash::Sha1]);
        let none = SoftRsaToken::new(0, &[]);
        let oaep = |t: &SoftRsaToken| match recipient_of(t).unwrap() {
            Recipient::Rsa { oaep, .. } => oaep,
            other => panic!("{other:?}"),
        };
        assert_eq!(oaep(&both), OaepHash::Sha256);
        assert_eq!(oaep(&sha1), OaepHash::Sha1);
        let err = recipient_of(&none).unwrap_err().to_string();
        assert!(
            err.contains("the public-key object was replaced")
                && err.contains("cannot decrypt RSA-OAEP at all"),
            "{err}"
        );
        assert!(err.contains("SHA-256: CKR_ARGUMENTS_BAD"), "{err}");
    }

    #[test]
    fn bad_rsa_strings_are_refused_precisely() {
        let good = Recipient::rsa(SoftRsaToken::new(0, &[]).public(), OaepHash::Sha1).to_string();
        let body = good.strip_prefix("kwr1-rsa3072-sha1-").unwrap();
        let small = rsa::RsaPrivateKey::new(&mut rand_core::OsRng, 1024).unwrap();
        let small = URL_SAFE_NO_PAD.encode(small.to_public_key().to_public_key_der().unwrap());
        let p256_body = Recipient::p256(key(4)).to_string()["kwr1-p256-".len()..].to_string();
        let cases = [
            (format!("kwr1-rsa3072-{body}"), "OAEP hash"),
            (format!("kwr1-rsa3072-md5-{body}"), "OAEP hash 'md5'"),
            (format!("kwr1-rsa3072-sha256-{small}"), "1024-bit modulus"),
            (format!("kwr1-rsa3072-sha256-{p256_body}"), "not a DER RSA"),
            (format!("kwr1-rsa3072-sha256-{body}="), "base64url"),
        ];
        for (s, want) in cases {
            let err = s.parse::<Recipient>().expect_err(&s);
            assert!(err.to_string().contains(want), "{s}: {err}");
            assert_eq!(err.kind(), crate::ErrorKind::Usage);
        }
    }

    #[test]
    fn a_transit_recipient_names_the_key_and_version_and_seals_with_sha256() {
        let key = SoftRsaToken::new(0, &[]).public();
        let r = Recipient::Rsa {
            key: key.clone(),
            oaep: OaepHash::Sha256,
            service: Some(ServiceKey {
                service: KeyService::Transit,
                mount: "team/transit".into(),
                key: "keyward-seal".into(),
                version: 3,
            }),
        };
        let s = r.to_string();
        assert!(
            s.starts_with("kwr1-transit-rsa3072-v3:team/transit/keyward-seal:"),
            "{s}"
        );
        let back: Recipient = s.parse().unwrap();
        assert_eq!(back, r);
        assert_eq!(back.service_key().unwrap().version, 3);
        // The same key, so the same fingerprint as a plain RSA recipient.
        assert_eq!(
            back.fingerprint(),
            Recipient::rsa(key, OaepHash::Sha256).fingerprint()
        );
        let body = s.rsplit(':').next().unwrap();
        for (bad, want) in [
            (
                format!("kwr1-transit-rsa3072-v0:transit/k:{body}"),
                "version",
            ),
            (
                format!("kwr1-transit-rsa3072-vx:transit/k:{body}"),
                "version",
            ),
            (format!("kwr1-transit-rsa3072-v1:k:{body}"), "expected"),
            ("kwr1-transit-rsa3072-v1:transit/k".to_string(), "expected"),
            (format!("kwr1-transit-p256-v1:transit/k:{body}"), "expected"),
            (
                format!("kwr1-transit-rsa3072-v1:tr ansit/k:{body}"),
                "mount path",
            ),
        ] {
            let err = bad.parse::<Recipient>().expect_err(&bad).to_string();
            assert!(err.contains(want), "{bad}: {err}");
        }
    }

    #[test]
    fn an_aws_kms_recipient_names_the_region_and_key_id() {
        let key = SoftRsaToken::new(0, &[]).public();
        let r = Recipient::Rsa {
            key: key.clone(),
            oaep: OaepHash::Sha256,
            service: Some(ServiceKey {
                service: KeyService::AwsKms,
                mount: "eu-west-1".into(),
                key: "1234abcd-12ab-34cd-56ef-1234567890ab".into(),
                version: 1,
            }),
        };
        let s = r.to_string();
        assert!(
            s.starts_with("kwr1-awskms-rsa3072-v1:eu-west-1/1234abcd-12ab-34cd-56ef-1234567890ab:"),
            "{s}"
        );
        let back: Recipient = s.parse().unwrap();
        assert_eq!(back, r);
        assert_eq!(
            back.service_key().unwrap().to_string(),
            "AWS KMS key 1234abcd-12ab-34cd-56ef-1234567890ab in eu-west-1"
        );
        assert_eq!(
            back.fingerprint(),
            Recipient::rsa(key, OaepHash::Sha256).fingerprint()
        );
        let body = s.rsplit(':').next().unwrap();
        for (bad, want) in [
            (format!("kwr1-awskms-rsa3072-v1:EU/k:{body}"), "AWS region"),
            (
                format!("kwr1-awskms-rsa3072-v1:eu-west-1:{body}"),
                "<region>",
            ),
        ] {
            let err = bad.parse::<Recipient>().expect_err(&bad).to_string();
            assert!(err.contains(want), "{bad}: {err}");
        }
    }
}
