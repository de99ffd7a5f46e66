// A strict client for iamd's AWS front door (issue 13, acceptance 4): the AWS SDK for Go v2 as Debian packages it
// (golang-github-aws-aws-sdk-go-v2-dev), built offline with GO111MODULE=off and GOPATH=/usr/share/gocode by
// tests/aws-clients/run. The SDK's XML decoder leaves a list empty when an element name is wrong instead of
// failing, so every list that must hold something is checked non-empty and by content: a lenient client would
// hide exactly the mistakes this program exists to catch.
//
//	go-strict -endpoint https://127.0.0.1:PORT -ca data/tls/ca.pem -root data/root-credentials.json
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

const account = "123456789012"

var (
	endpoint = flag.String("endpoint", "", "the front door, https://HOST:PORT")
	caFile   = flag.String("ca", "", "the CA certificate (PEM) the server's certificate chains to")
	rootFile = flag.String("root", "", "root-credentials.json (accessKeyId, secretAccessKey)")
	ctx      = context.Background()
	failures = 0
	checks   = 0
)

func check(name string, body func() error) {
	checks++
	if err := body(); err != nil {
		failures++
		fmt.Printf("FAIL %s: %v\n", name, err)
		return
	}
	fmt.Printf("ok   %s\n", name)
}

func config(id, secret, token, region string) aws.Config {
	pem, err := os.ReadFile(*caFile)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		fmt.Fprintln(os.Stderr, "no certificate in", *caFile)
		os.Exit(2)
	}
	transport := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
	return aws.Config{
		Region:      region,
		Credentials: credentials.NewStaticCredentialsProvider(id, secret, token),
		HTTPClient:  &http.Client{Transport: transport, Timeout: 60 * time.Second},
		Retryer:     func() aws.Retryer { return aws.NopRetryer{} },
		EndpointResolverWithOptions: aws.EndpointResolverWithOptionsFunc(
			func(service, region string, options ...interface{}) (aws.Endpoint, error) {
				return aws.Endpoint{URL: *endpoint, HostnameImmutable: true, SigningRegion: region}, nil
			}),
	}
}

func nonEmpty[T any](what string, list []T) error {
	if len(list) == 0 {
		return fmt.Errorf("%s came back empty", what)
	}
	return nil
}

func main() {
	flag.Parse()
	if *endpoint == "" || *caFile == "" || *rootFile == "" {
		flag.Usage()
		os.Exit(2)
	}
	var root struct{ AccessKeyId, SecretAccessKey string }
	data, err := os.ReadFile(*rootFile)
	if err == nil {
		err = json.Unmarshal(data, &root)
	}
	if err != nil || root.AccessKeyId == "" {
		fmt.Fprintln(os.Stderr, "cannot read the root key from", *rootFile, err)
		os.Exit(2)
	}
	rootConfig := config(root.AccessKeyId, root.SecretAccessKey, "", "us-east-1")
	client := iam.NewFromConfig(rootConfig)
	suffix := fmt.Sprintf("%d", time.Now().UnixNano()%1_000_000_000)
	user, group, role, deployer := "go-alice-"+suffix, "go-readers-"+suffix, "go-apigw-"+suffix, "go-deploy-"+suffix
	var policyARN string
	document := `{"Version":"2012-10-17","Statement":[{"Sid":"InvokePets","Effect":"Allow","Action":"execute-api:Invoke",` +
		`"Resource":"arn:aws:execute-api:us-east-1:` + account + `:abc123/prod/GET/pets+cats","Condition":{"StringLike":{"aws:username":"go-alice-*"}}}]}`

	check("CreatePolicy, GetPolicyVersion (the document round-trips, + included)", func() error {
		out, err := client.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("go-pets-" + suffix),
			PolicyDocument: aws.String(document), Tags: []iamtypes.Tag{{Key: aws.String("team"), Value: aws.String("api")}}})
		if err != nil {
			return err
		}
		policyARN = aws.ToString(out.Policy.Arn)
		if policyARN != "arn:aws:iam::"+account+":policy/go-pets-"+suffix || aws.ToString(out.Policy.DefaultVersionId) != "v1" {
			return fmt.Errorf("policy %+v", out.Policy)
		}
		if err := nonEmpty("CreatePolicy Tags", out.Policy.Tags); err != nil {
			return err
		}
		version, err := client.GetPolicyVersion(ctx, &iam.GetPolicyVersionInput{PolicyArn: &policyARN, VersionId: aws.String("v1")})
		if err != nil {
			return err
		}
		decoded, err := url.QueryUnescape(aws.ToString(version.PolicyVersion.Document))
		if err != nil || decoded != document {
			return fmt.Errorf("document %q (%v)", aws.ToString(version.PolicyVersion.Document), err)
		}
		versions, err := client.ListPolicyVersions(ctx, &iam.ListPolicyVersionsInput{PolicyArn: &policyARN})
		if err != nil {
			return err
		}
		return nonEmpty("ListPolicyVersions Versions", versions.Versions)
	})
	check("CreateUser with tags, GetUser, ListUsers, ListUserTags", func() error {
		out, err := client.CreateUser(ctx, &iam.CreateUserInput{UserName: &user,
			Tags: []iamtypes.Tag{{Key: aws.String("team"), Value: aws.String("api")}}})
		if err != nil {
			return err
		}
		if aws.ToString(out.User.Arn) != "arn:aws:iam::"+account+":user/"+user || !strings.HasPrefix(aws.ToString(out.User.UserId), "AIDA") {
			return fmt.Errorf("user %+v", out.User)
		}
		if err := nonEmpty("CreateUser Tags", out.User.Tags); err != nil {
			return err
		}
		got, err := client.GetUser(ctx, &iam.GetUserInput{UserName: &user})
		if err != nil {
			return err
		}
		if got.User.CreateDate == nil || got.User.CreateDate.IsZero() {
			return fmt.Errorf("GetUser CreateDate missing")
		}
		users, err := client.ListUsers(ctx, &iam.ListUsersInput{})
		if err != nil {
			return err
		}
		if err := nonEmpty("ListUsers Users", users.Users); err != nil {
			return err
		}
		tags, err := client.ListUserTags(ctx, &iam.ListUserTagsInput{UserName: &user})
		if err != nil {
			return err
		}
		if err := nonEmpty("ListUserTags Tags", tags.Tags); err != nil {
			return err
		}
		if aws.ToString(tags.Tags[0].Key) != "team" || aws.ToString(tags.Tags[0].Value) != "api" {
			return fmt.Errorf("tags %+v", tags.Tags)
		}
		return nil
	})
	check("AttachUserPolicy, ListAttachedUserPolicies, ListEntitiesForPolicy, DetachUserPolicy", func() error {
		if _, err := client.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: &user, PolicyArn: &policyARN}); err != nil {
			return err
		}
		attached, err := client.ListAttachedUserPolicies(ctx, &iam.ListAttachedUserPoliciesInput{UserName: &user})
		if err != nil {
			return err
		}
		if err := nonEmpty("ListAttachedUserPolicies AttachedPolicies", attached.AttachedPolicies); err != nil {
			return err
		}
		if aws.ToString(attached.AttachedPolicies[0].PolicyArn) != policyARN {
			return fmt.Errorf("attached %+v", attached.AttachedPolicies)
		}
		entities, err := client.ListEntitiesForPolicy(ctx, &iam.ListEntitiesForPolicyInput{PolicyArn: &policyARN})
		if err != nil {
			return err
		}
		if err := nonEmpty("ListEntitiesForPolicy PolicyUsers", entities.PolicyUsers); err != nil {
			return err
		}
		_, err = client.DetachUserPolicy(ctx, &iam.DetachUserPolicyInput{UserName: &user, PolicyArn: &policyARN})
		return err
	})
	check("groups: CreateGroup, AttachGroupPolicy, AddUserToGroup, ListGroupsForUser, GetGroup", func() error {
		if _, err := client.CreateGroup(ctx, &iam.CreateGroupInput{GroupName: &group}); err != nil {
			return err
		}
		if _, err := client.AttachGroupPolicy(ctx, &iam.AttachGroupPolicyInput{GroupName: &group, PolicyArn: &policyARN}); err != nil {
			return err
		}
		if _, err := client.AddUserToGroup(ctx, &iam.AddUserToGroupInput{GroupName: &group, UserName: &user}); err != nil {
			return err
		}
		groups, err := client.ListGroupsForUser(ctx, &iam.ListGroupsForUserInput{UserName: &user})
		if err != nil {
			return err
		}
		if err := nonEmpty("ListGroupsForUser Groups", groups.Groups); err != nil {
			return err
		}
		if aws.ToString(groups.Groups[0].GroupName) != group {
			return fmt.Errorf("groups %+v", groups.Groups)
		}
		got, err := client.GetGroup(ctx, &iam.GetGroupInput{GroupName: &group})
		if err != nil {
			return err
		}
		if err := nonEmpty("GetGroup Users", got.Users); err != nil {
			return err
		}
		attached, err := client.ListAttachedGroupPolicies(ctx, &iam.ListAttachedGroupPoliciesInput{GroupName: &group})
		if err != nil {
			return err
		}
		return nonEmpty("ListAttachedGroupPolicies AttachedPolicies", attached.AttachedPolicies)
	})
	cloudWatch := "arn:aws:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"
	check("the API Gateway role with AmazonAPIGatewayPushToCloudWatchLogs", func() error {
		trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"apigateway.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
		out, err := client.CreateRole(ctx, &iam.CreateRoleInput{RoleName: &role, AssumeRolePolicyDocument: &trust,
			Tags: []iamtypes.Tag{{Key: aws.String("k"), Value: aws.String("v")}}})
		if err != nil {
			return err
		}
		if !strings.HasPrefix(aws.ToString(out.Role.RoleId), "AROA") {
			return fmt.Errorf("role %+v", out.Role)
		}
		if _, err := client.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: &role, PolicyArn: &cloudWatch}); err != nil {
			return err
		}
		attached, err := client.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: &role})
		if err != nil {
			return err
		}
		if err := nonEmpty("ListAttachedRolePolicies AttachedPolicies", attached.AttachedPolicies); err != nil {
			return err
		}
		roles, err := client.ListRoles(ctx, &iam.ListRolesInput{})
		if err != nil {
			return err
		}
		if err := nonEmpty("ListRoles Roles", roles.Roles); err != nil {
			return err
		}
		tags, err := client.ListRoleTags(ctx, &iam.ListRoleTagsInput{RoleName: &role})
		if err != nil {
			return err
		}
		return nonEmpty("ListRoleTags Tags", tags.Tags)
	})
	check("SimulatePrincipalPolicy: allowed through the group, implicitDeny otherwise", func() error {
		out, err := client.SimulatePrincipalPolicy(ctx, &iam.SimulatePrincipalPolicyInput{
			PolicySourceArn: aws.String("arn:aws:iam::" + account + ":user/" + user),
			ActionNames:     []string{"execute-api:Invoke", "apigateway:DELETE"},
			ResourceArns:    []string{"arn:aws:execute-api:us-east-1:" + account + ":abc123/prod/GET/pets+cats"},
		})
		if err != nil {
			return err
		}
		if err := nonEmpty("SimulatePrincipalPolicy EvaluationResults", out.EvaluationResults); err != nil {
			return err
		}
		if len(out.EvaluationResults) != 2 || out.EvaluationResults[0].EvalDecision != iamtypes.PolicyEvaluationDecisionTypeAllowed ||
			out.EvaluationResults[1].EvalDecision != iamtypes.PolicyEvaluationDecisionTypeImplicitDeny {
			return fmt.Errorf("results %+v", out.EvaluationResults)
		}
		if err := nonEmpty("MatchedStatements of the allowed action", out.EvaluationResults[0].MatchedStatements); err != nil {
			return err
		}
		role, err := client.SimulatePrincipalPolicy(ctx, &iam.SimulatePrincipalPolicyInput{
			PolicySourceArn: aws.String("arn:aws:iam::" + account + ":role/" + role),
			ActionNames:     []string{"logs:PutLogEvents"},
		})
		if err != nil {
			return err
		}
		if len(role.EvaluationResults) != 1 || role.EvaluationResults[0].EvalDecision != iamtypes.PolicyEvaluationDecisionTypeAllowed {
			return fmt.Errorf("role results %+v", role.EvaluationResults)
		}
		return nil
	})
	check("GetAccountAuthorizationDetails lists the user, group, role and policy", func() error {
		out, err := client.GetAccountAuthorizationDetails(ctx, &iam.GetAccountAuthorizationDetailsInput{})
		if err != nil {
			return err
		}
		for what, n := range map[string]int{"UserDetailList": len(out.UserDetailList), "GroupDetailList": len(out.GroupDetailList),
			"RoleDetailList": len(out.RoleDetailList), "Policies": len(out.Policies)} {
			if n == 0 {
				return fmt.Errorf("%s came back empty", what)
			}
		}
		for _, detail := range out.UserDetailList {
			if aws.ToString(detail.UserName) == user {
				return nonEmpty("UserDetail GroupList", detail.GroupList)
			}
		}
		return fmt.Errorf("%s missing from UserDetailList", user)
	})
	var key iamtypes.AccessKey
	check("CreateAccessKey, then GetCallerIdentity with the new key", func() error {
		out, err := client.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: &user})
		if err != nil {
			return err
		}
		key = *out.AccessKey
		keys, err := client.ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: &user})
		if err != nil {
			return err
		}
		if err := nonEmpty("ListAccessKeys AccessKeyMetadata", keys.AccessKeyMetadata); err != nil {
			return err
		}
		who, err := sts.NewFromConfig(config(aws.ToString(key.AccessKeyId), aws.ToString(key.SecretAccessKey), "", "eu-west-1")).
			GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if err != nil {
			return err
		}
		if aws.ToString(who.Arn) != "arn:aws:iam::"+account+":user/"+user || aws.ToString(who.Account) != account {
			return fmt.Errorf("identity %s %s", aws.ToString(who.Arn), aws.ToString(who.Account))
		}
		return nil
	})
	check("AssumeRole with the new key, then GetCallerIdentity with the temporary credentials", func() error {
		trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + account + `:user/` + user + `"},"Action":"sts:AssumeRole"}]}`
		if _, err := client.CreateRole(ctx, &iam.CreateRoleInput{RoleName: &deployer, AssumeRolePolicyDocument: &trust}); err != nil {
			return err
		}
		allow := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}]}`
		if _, err := client.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: &user, PolicyName: aws.String("assume"), PolicyDocument: &allow}); err != nil {
			return err
		}
		alice := sts.NewFromConfig(config(aws.ToString(key.AccessKeyId), aws.ToString(key.SecretAccessKey), "", "us-east-1"))
		out, err := alice.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::" + account + ":role/" + deployer),
			RoleSessionName: aws.String("go"), DurationSeconds: aws.Int32(900)})
		if err != nil {
			return err
		}
		c := out.Credentials
		if !strings.HasPrefix(aws.ToString(c.AccessKeyId), "ASIA") || c.Expiration == nil || time.Until(*c.Expiration) <= 0 {
			return fmt.Errorf("credentials %+v", c)
		}
		who, err := sts.NewFromConfig(config(aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken), "us-east-1")).
			GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if err != nil {
			return err
		}
		if aws.ToString(who.Arn) != "arn:aws:sts::"+account+":assumed-role/"+deployer+"/go" {
			return fmt.Errorf("identity %s", aws.ToString(who.Arn))
		}
		_, err = client.DeleteUserPolicy(ctx, &iam.DeleteUserPolicyInput{UserName: &user, PolicyName: aws.String("assume")})
		return err
	})
	check("errors are typed: NoSuchEntity, EntityAlreadyExists, AccessDenied", func() error {
		_, err := client.GetUser(ctx, &iam.GetUserInput{UserName: aws.String("nobody-" + suffix)})
		var missing *iamtypes.NoSuchEntityException
		if !errors.As(err, &missing) {
			return fmt.Errorf("GetUser of nobody: %v", err)
		}
		_, err = client.CreateUser(ctx, &iam.CreateUserInput{UserName: &user})
		var exists *iamtypes.EntityAlreadyExistsException
		if !errors.As(err, &exists) {
			return fmt.Errorf("CreateUser twice: %v", err)
		}
		_, err = iam.NewFromConfig(config(aws.ToString(key.AccessKeyId), aws.ToString(key.SecretAccessKey), "", "us-east-1")).
			ListUsers(ctx, &iam.ListUsersInput{})
		if err == nil || !strings.Contains(err.Error(), "AccessDenied") {
			return fmt.Errorf("ListUsers without permission: %v", err)
		}
		return nil
	})
	check("cleanup", func() error {
		steps := []func() error{
			func() error {
				_, e := client.RemoveUserFromGroup(ctx, &iam.RemoveUserFromGroupInput{GroupName: &group, UserName: &user})
				return e
			},
			func() error {
				_, e := client.DetachGroupPolicy(ctx, &iam.DetachGroupPolicyInput{GroupName: &group, PolicyArn: &policyARN})
				return e
			},
			func() error { _, e := client.DeleteGroup(ctx, &iam.DeleteGroupInput{GroupName: &group}); return e },
			func() error {
				_, e := client.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: &user, AccessKeyId: key.AccessKeyId})
				return e
			},
			func() error { _, e := client.DeleteUser(ctx, &iam.DeleteUserInput{UserName: &user}); return e },
			func() error {
				_, e := client.DetachRolePolicy(ctx, &iam.DetachRolePolicyInput{RoleName: &role, PolicyArn: &cloudWatch})
				return e
			},
			func() error { _, e := client.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: &role}); return e },
			func() error { _, e := client.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: &deployer}); return e },
			func() error {
				_, e := client.DeletePolicy(ctx, &iam.DeletePolicyInput{PolicyArn: &policyARN})
				return e
			},
		}
		for _, step := range steps {
			if err := step(); err != nil {
				return err
			}
		}
		return nil
	})
	fmt.Printf("go sdk v2: %d passed, %d failed\n", checks-failures, failures)
	if failures > 0 {
		os.Exit(1)
	}
}
