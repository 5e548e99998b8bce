"""`POST /api/auth/token/`: exchange username + password for a DRF token (scripts, the
PBX import job). Issuing a token is audit-logged as a login."""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.exceptions import Throttled, ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from helpdesk.services.auth import auth_token_issue


class TokenThrottle(AnonRateThrottle):
    rate = "30/minute"


class ObtainTokenView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [TokenThrottle]

    @extend_schema(
        summary="APIトークンを取得",
        request=AuthTokenSerializer,
        responses={200: inline_serializer("TokenResponse", {"token": serializers.CharField()})},
        auth=[],
    )
    def post(self, request):
        serializer = AuthTokenSerializer(data=request.data, context={"request": request})
        if not serializer.is_valid():
            # django-axes marks the request it was given (this DRF request, which its
            # middleware never sees) when the user is locked out: say so, as the pages do.
            if getattr(request, "axes_locked_out", False):
                raise Throttled(detail="パスワードの誤りが続いたため、しばらくログインできません。")
            raise ValidationError(serializer.errors)
        user = serializer.validated_data["user"]
        token = auth_token_issue(user=user)
        return Response({"token": token.key})
