"""Writes aws-cli-tables.json: the AWS CLI's own table formatter (awscli, PyPI) on a few responses, at 80 columns,
the golden output TableFormatTests compares iam's --output table with. Run: python3 make-aws-cli-tables.py"""
import io, json, sys
from awscli.formatter import TableFormatter
class Args: color='off'; query=None
cases = {
 "getUserWithTags": ("GetUser", {"User": {"Path": "/", "UserName": "alice", "UserId": "AIDA2FQLTNLIGKGIGESIF", "Arn": "arn:aws:iam::123456789012:user/alice", "CreateDate": "2026-12-02T03:09:31Z", "Tags": [{"Key": "team", "Value": "blue"}]}}),
 "listUsersWide": ("ListUsers", {"Users": [{"Path": "/", "UserName": "alice", "UserId": "AIDA2FQLTNLIGKGIGESIF", "Arn": "arn:aws:iam::123456789012:user/alice", "CreateDate": "2026-12-02T03:09:31Z"}, {"Path": "/", "UserName": "bob", "UserId": "AIDARAUNROIOEW2HFOH6D", "Arn": "arn:aws:iam::123456789012:user/bob", "CreateDate": "2026-12-02T03:09:33Z"}]}),
 "narrow": ("ListGroupsForUser", {"Groups": [{"GroupName": "dev", "Path": "/"}, {"GroupName": "ops", "Path": "/x/"}], "IsTruncated": False}),
 "scalarsAndLists": ("ListAccountAliases", {"AccountAliases": ["one", "two"], "Count": 2, "Nested": [["a", "b"], ["c", "d"]]}),
 "callerIdentity": ("GetCallerIdentity", {"UserId": "AIDAEXAMPLE", "Account": "123456789012", "Arn": "arn:aws:iam::123456789012:user/alice"}),
}
out = {}
for name, (title, value) in cases.items():
    f = TableFormatter(Args())
    f.table._terminal_width = 80
    s = io.StringIO()
    f._format_response(title, value, s)
    out[name] = {"title": title, "value": value, "table": s.getvalue()}
json.dump(out, open("aws-cli-tables.json", "w"), indent=1)
